"""What a run may skip because an earlier run did it, each in its own module.

`location` (where a tree's cache lives: its `cache_dir`, else the user's cache folder), `salt`
(what every key includes: the tool's own files and the settings), `facts` (parsed facts by
content hash), `records` (small one-entry JSON files), `outputs` (the outputs of a tree last
seen in sync), `reports` (the scan report of a tree last scanned), `rendered` (rendered files
and layers_common by inputs), `applied` (model files that `apply` left unchanged). Every cache
is safe to delete, and damage is only a miss.
"""
