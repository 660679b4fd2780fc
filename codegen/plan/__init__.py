"""Plan: clone classes, models and their layer sequences, the trunk trie, keys and edits."""
