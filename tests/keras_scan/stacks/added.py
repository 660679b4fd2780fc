"""The same stack through Keras 2's `tf_keras`, built with `.add(...)`, literal sizes."""

import tf_keras as keras


def build_model():
    model = keras.Sequential()
    model.add(keras.layers.Embedding(20000, 128))
    model.add(keras.layers.Conv1D(128, 5, activation="relu"))
    model.add(keras.layers.GlobalMaxPooling1D())
    model.add(keras.layers.Dropout(0.5))
    model.add(keras.layers.Dense(64, activation="relu"))
    model.add(keras.layers.Dense(2, activation="softmax"))
    return model
