"""Data preparation: no TensorFlow graph here, so no builders and no models."""

import argparse
import collections
import json


class Vocab(object):
    def __init__(self, path, min_count=1):
        self.counts = collections.Counter()
        self.min_count = min_count
        self.path = path

    def build(self, lines):
        for line in lines:
            self.counts.update(line.split())
        return [w for w, c in self.counts.items() if c >= self.min_count]


def build_vocab(paths):
    vocab = Vocab(paths[0])
    return vocab.build(open(p).read() for p in paths)


def train(args):
    print(json.dumps(vars(args)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data")
    train(parser.parse_args())


if __name__ == "__main__":
    main()
