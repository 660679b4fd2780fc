# ruff: noqa: E501  (template lines are the generated code's own lines)
"""Source templates for the benchmark corpus: builder families, trunks and non-TF utility code.

Template syntax (string.Template): `$T` is the TF1 API prefix (`tf`, `tf1`, `tf.compat.v1`),
`$fn` the function name, `"$s_NAME"` a variable/scope name string, `$nK` a number slot (a
near-miss changes exactly one), `${BR}` an optional line break inside brackets, and every other
`$name` a parameter or local that a renamed copy renames consistently.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Family:
    """One layer builder that the corpus copies around, with the values a copy may vary."""

    name: str
    alt_names: tuple[str, ...]  # function names a renamed copy may take (unique across families)
    source: str
    numbers: dict[str, tuple[str, tuple[str, ...]]]  # slot -> (base value, near-miss values)
    docs: tuple[str, ...]
    comments: tuple[str, ...] = ()
    helpers: tuple[str, ...] = ()  # module-level code the builder depends on, copied verbatim


@dataclass(frozen=True)
class LayerSpec:
    """One trunk position: which family, and the call's hyperparameters with weighted choices."""

    family: str
    call: str  # `$fn` and `{hyper}` placeholders; `h` is the running tensor
    hyper: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)


FAMILIES: tuple[Family, ...] = (
    Family(
        "embed",
        ("token_embedding", "embedding", "embed_tokens", "word_embedding"),
        """
def $fn($ids, $vocab_size, $dim, $scope="$s_embed"):
    with $T.variable_scope($scope):
        $W = $T.get_variable(${BR}"$s_W", [$vocab_size, $dim],${BR}initializer=$T.random_normal_initializer(stddev=$n0))
        return $T.nn.embedding_lookup($W, $ids)
""",
        {"n0": ("0.02", ("0.01", "0.05"))},
        (
            "Look up a learned [vocab_size, dim] embedding for each token id.",
            "Token ids [batch, time] -> dense vectors [batch, time, dim].",
            "Word embedding table and lookup.",
        ),
        ("the table is the largest variable by far", "[batch, time, dim]"),
    ),
    Family(
        "conv_block",
        ("conv1d_relu", "temporal_conv", "conv_layer"),
        """
def $fn($x, $width, $kernel=3, $scope="$s_conv"):
    with $T.variable_scope($scope):
        $in_dim = $x.shape[-1]
        $W = $T.get_variable(${BR}"$s_W", [$kernel, $in_dim, $width],${BR}initializer=$T.random_normal_initializer(stddev=$n0))
        $b = $T.get_variable("$s_b", [$width], initializer=$T.zeros_initializer())
        $h = $T.nn.conv1d($x, $W, stride=$n1, padding="SAME") + $b
        return $T.nn.relu($h)
""",
        {"n0": ("0.02", ("0.01", "0.03")), "n1": ("1", ("2",))},
        (
            "One 1-D convolution over time followed by a ReLU.",
            "Conv1d + ReLU, same as in the sentiment model.",
            "Temporal convolution block.",
        ),
        ("small init keeps the early activations well scaled", "SAME padding keeps the length"),
    ),
    Family(
        "layer_norm",
        ("norm_layer", "ln_block", "normalize_features"),
        """
def $fn($x, $scope="$s_layer_norm"):
    with $T.variable_scope($scope):
        $dim = $x.shape[-1]
        $gamma = $T.get_variable("$s_gamma", [$dim], initializer=$T.ones_initializer())
        $beta = $T.get_variable("$s_beta", [$dim], initializer=$T.zeros_initializer())
        $mean, $variance = $T.nn.moments($x, axes=[-1], keepdims=True)
        $normalized = ($x - $mean) * $T.rsqrt($variance + $n0)
        return $normalized * $gamma + $beta
""",
        {"n0": ("1e-06", ("1e-05", "1e-12"))},
        (
            "Normalise over the feature axis with a learned scale and shift.",
            "Layer normalisation (Ba et al. 2016).",
        ),
        ("epsilon guards against a zero variance", "normalise over the last axis only"),
    ),
    Family(
        "dense_block",
        ("relu_dense", "fc_block", "hidden_layer"),
        """
def $fn($x, $units, $scope="$s_dense_block"):
    with $T.variable_scope($scope):
        return $T.layers.dense(${BR}$x, $units, activation=$T.nn.relu,${BR}kernel_initializer=$T.truncated_normal_initializer(stddev=$n0))
""",
        {"n0": ("0.02", ("0.05",))},
        ("A ReLU dense layer in its own scope.", "Fully connected layer with ReLU."),
        ("truncated normal avoids large initial weights",),
    ),
    Family(
        "highway",
        ("highway_layer", "gated_highway", "highway_block"),
        """
def $fn($x, $scope="$s_highway"):
    with $T.variable_scope($scope):
        $dim = $x.shape[-1]
        $W_h = $T.get_variable("$s_W_h", [$dim, $dim])
        $W_t = $T.get_variable("$s_W_t", [$dim, $dim])
        $b_t = $T.get_variable(${BR}"$s_b_t", [$dim],${BR}initializer=$T.constant_initializer($n0))
        $hidden = $T.nn.relu($T.tensordot($x, $W_h, axes=1))
        $gate = $T.sigmoid($T.tensordot($x, $W_t, axes=1) + $b_t)
        return $gate * $hidden + (1.0 - $gate) * $x
""",
        {"n0": ("-1.0", ("-2.0", "-3.0"))},
        (
            "Highway layer (Srivastava et al. 2015).",
            "Carry gate between a ReLU transform and the input.",
        ),
        ("negative gate bias starts out carrying the input through",),
    ),
    Family(
        "gru_gates",
        ("gru_step", "gated_update", "recurrent_gates"),
        """
def $fn($x, $state, $units, $scope="$s_gru"):
    with $T.variable_scope($scope):
        $in_dim = $x.shape[-1]
        $W_z = $T.get_variable("$s_W_z", [$in_dim + $units, $units])
        $W_r = $T.get_variable("$s_W_r", [$in_dim + $units, $units])
        $W_c = $T.get_variable("$s_W_c", [$in_dim + $units, $units])
        $b_z = $T.get_variable("$s_b_z", [$units], initializer=$T.constant_initializer($n0))
        $joint = $T.concat([$x, $state], axis=-1)
        $z = $T.sigmoid($T.matmul($joint, $W_z) + $b_z)
        $r = $T.sigmoid($T.matmul($joint, $W_r))
        $candidate = $T.tanh($T.matmul($T.concat([$x, $r * $state], axis=-1), $W_c))
        return $z * $state + (1 - $z) * $candidate
""",
        {"n0": ("1.0", ("0.0", "2.0"))},
        ("One GRU step written out by hand.", "Update/reset gates of a GRU cell."),
        ("update-gate bias of 1 favours keeping the state early on",),
    ),
    Family(
        "attention",
        ("self_attention", "multihead_projection", "attend"),
        """
def $fn($x, $num_heads, $head_dim, $scope="$s_attention"):
    with $T.variable_scope($scope):
        $q = $T.layers.dense($x, $num_heads * $head_dim, use_bias=False, name="$s_query")
        $k = $T.layers.dense($x, $num_heads * $head_dim, use_bias=False, name="$s_key")
        $v = $T.layers.dense($x, $num_heads * $head_dim, use_bias=False, name="$s_value")
        $scores = $T.matmul($q, $k, transpose_b=True) * ($head_dim ** $n0)
        $weights = $T.nn.softmax($scores, axis=-1)
        $context = $T.matmul($weights, $v)
        return $T.layers.dense(${BR}$context, $x.shape[-1], name="$s_output")
""",
        {"n0": ("-0.5", ("-0.25",))},
        (
            "Scaled dot-product self-attention with learned projections.",
            "Attention over time steps.",
        ),
        ("heads are folded into the feature axis here", "scale by 1/sqrt(head_dim)"),
    ),
    Family(
        "position_embedding",
        ("positional_table", "learned_positions", "add_positions"),
        """
def $fn($x, $max_len, $scope="$s_position"):
    with $T.variable_scope($scope):
        $length = $T.shape($x)[1]
        $dim = $x.shape[-1]
        $table = $T.get_variable(${BR}"$s_table", [$max_len, $dim],${BR}initializer=$T.truncated_normal_initializer(stddev=$n0))
        return $T.expand_dims($table[:$length], 0)
""",
        {"n0": ("0.02", ("0.01",))},
        ("Learned absolute position embeddings, broadcast over the batch.",),
        ("sequences longer than max_len would fail here",),
    ),
    Family(
        "char_cnn",
        ("char_encoder", "character_cnn", "chars_to_words"),
        """
def $fn($char_ids, $char_vocab, $char_dim, $filters, $scope="$s_char_cnn"):
    with $T.variable_scope($scope):
        $table = $T.get_variable("$s_char_table", [$char_vocab, $char_dim])
        $chars = $T.nn.embedding_lookup($table, $char_ids)
        $conv = $T.layers.conv2d(${BR}$chars, $filters, [1, $n0], padding="same", activation=$T.nn.relu)
        return $T.reduce_max($conv, axis=2)
""",
        {"n0": ("3", ("5", "4"))},
        ("Character CNN: embed characters, convolve, max-pool per word.",),
        ("[batch, words, chars] -> [batch, words, filters]",),
    ),
    Family(
        "bilstm",
        ("bi_rnn", "bidirectional_lstm", "encode_bilstm"),
        """
def $fn($x, $units, $lengths, $scope="$s_bilstm"):
    with $T.variable_scope($scope):
        $fw = $T.nn.rnn_cell.LSTMCell($units, forget_bias=$n0, name="$s_fw")
        $bw = $T.nn.rnn_cell.LSTMCell($units, forget_bias=$n1, name="$s_bw")
        $outputs, _ = $T.nn.bidirectional_dynamic_rnn(${BR}$fw, $bw, $x, sequence_length=$lengths, dtype=$T.float32)
        return $T.concat($outputs, axis=-1)
""",
        {"n0": ("1.0", ("0.0",)), "n1": ("1.0", ("0.0",))},
        (
            "Bidirectional LSTM over the padded sequence.",
            "BiLSTM encoder; outputs are concatenated.",
        ),
        ("sequence_length stops the RNN at the padding",),
    ),
    Family(
        "residual_dense",
        ("residual_ffn", "res_block", "dense_residual"),
        """
def $fn($x, $units, $scope="$s_residual"):
    with $T.variable_scope($scope):
        $inner = $T.layers.dense($x, $units, activation=$T.nn.relu, name="$s_inner")
        $outer = $T.layers.dense($inner, $x.shape[-1], name="$s_outer")
        return $x + $n0 * $outer
""",
        {"n0": ("1.0", ("0.5",))},
        ("Two dense layers with a residual connection.",),
        ("the output width must match the input for the skip",),
    ),
    Family(
        "glu",
        ("gated_conv", "glu_block", "gated_linear"),
        """
def $fn($x, $width, $kernel, $scope="$s_glu"):
    with $T.variable_scope($scope):
        $in_dim = $x.shape[-1]
        $W = $T.get_variable("$s_W", [$kernel, $in_dim, 2 * $width])
        $b = $T.get_variable("$s_b", [2 * $width], initializer=$T.zeros_initializer())
        $h = $T.nn.conv1d($x, $W, stride=$n0, padding="SAME") + $b
        $a, $g = $T.split($h, 2, axis=-1)
        return $a * $T.sigmoid($g)
""",
        {"n0": ("1", ("2",))},
        ("Gated linear unit over a 1-D convolution (Dauphin et al. 2017).",),
        ("half the channels gate the other half",),
    ),
    Family(
        "squeeze_excite",
        ("se_block", "channel_gate", "recalibrate"),
        """
def $fn($x, $ratio, $scope="$s_squeeze_excite"):
    with $T.variable_scope($scope):
        $dim = int($x.shape[-1])
        $squeezed = $T.reduce_mean($x, axis=1)
        $hidden = $T.layers.dense($squeezed, $dim // $ratio, activation=$T.nn.relu, name="$s_reduce")
        $scale = $T.layers.dense($hidden, $dim, activation=$T.sigmoid, name="$s_expand")
        return $x * $T.expand_dims($scale, $n0)
""",
        {"n0": ("1", ("2",))},
        ("Squeeze-and-excitation over the feature channels.",),
        ("squeeze over time, excite per channel",),
    ),
    Family(
        "feed_forward",
        ("ffn", "position_wise_ffn", "mlp_block"),
        """
def $fn($x, $hidden, $scope="$s_ffn"):
    with $T.variable_scope($scope):
        $dim = $x.shape[-1]
        $W_in = $T.get_variable("$s_W_in", [$dim, $hidden])
        $W_out = $T.get_variable("$s_W_out", [$hidden, $dim])
        $h = $T.tensordot($x, $W_in, axes=1)
        $h = 0.5 * $h * (1.0 + $T.tanh(0.7978845608 * ($h + $n0 * $T.pow($h, 3))))
        return $T.tensordot($h, $W_out, axes=1)
""",
        {"n0": ("0.044715", ("0.0447",))},
        (
            "Position-wise feed-forward layer with a GELU.",
            "Transformer FFN (tanh GELU approximation).",
        ),
        ("GELU, tanh approximation", "hidden is usually 4x the model width"),
    ),
    Family(
        "projection",
        ("linear_projection", "project", "affine"),
        """
def $fn($x, $out_dim, $scope="$s_projection"):
    with $T.variable_scope($scope):
        $W = $T.get_variable(${BR}"$s_W", [$x.shape[-1], $out_dim],${BR}initializer=$T.glorot_uniform_initializer())
        $b = $T.get_variable("$s_b", [$out_dim], initializer=$T.constant_initializer($n0))
        return $T.tensordot($x, $W, axes=1) + $b
""",
        {"n0": ("0.0", ("0.1",))},
        ("Affine projection of the last axis.",),
        ("glorot keeps the variance of the projection stable",),
    ),
    Family(
        "segment_embedding",
        ("type_embedding", "segment_table", "embed_segments"),
        """
def $fn($segment_ids, $num_segments, $dim, $scope="$s_segment"):
    with $T.variable_scope($scope):
        $table = $T.get_variable(${BR}"$s_table", [$num_segments, $dim],${BR}initializer=$T.truncated_normal_initializer(stddev=$n0))
        $one_hot = $T.one_hot($segment_ids, depth=$num_segments)
        return $T.einsum("bts,sd->btd", $one_hot, $table)
""",
        {"n0": ("0.02", ("0.1",))},
        ("Segment (sentence A/B) embeddings via a one-hot matmul.",),
        ("one-hot matmul is faster than a gather for tiny tables",),
    ),
    Family(
        "conv_pool",
        ("conv_and_pool", "pooled_conv", "conv_maxpool"),
        """
def $fn($x, $filters, $kernel, $pool, $scope="$s_conv_pool"):
    with $T.variable_scope($scope):
        $h = $T.layers.conv1d(${BR}$x, $filters, $kernel, padding="same", activation=$T.nn.relu,${BR}kernel_initializer=$T.variance_scaling_initializer(scale=$n0))
        return $T.layers.max_pooling1d($h, $pool, $pool)
""",
        {"n0": ("2.0", ("1.0",))},
        ("Convolution then max-pooling over time.",),
        ("He init for the ReLU",),
    ),
    Family(
        "gated_residual",
        ("gate_features", "feature_gate", "sigmoid_gate"),
        """
def $fn($x, $scope="$s_gated_residual"):
    with $T.variable_scope($scope):
        $dim = $x.shape[-1]
        $W_g = $T.get_variable("$s_W_g", [$dim, $dim], initializer=$T.glorot_uniform_initializer())
        $b_g = $T.get_variable("$s_b_g", [$dim], initializer=$T.constant_initializer($n0))
        $gate = $T.sigmoid($T.tensordot($x, $W_g, axes=1) + $b_g)
        return $x * $gate
""",
        {"n0": ("-2.0", ("-1.0",))},
        ("Multiplicative sigmoid gate on the features.",),
        ("starts mostly closed",),
    ),
    Family(
        "crf_transitions",
        ("transition_matrix", "crf_params", "tag_transitions"),
        """
def $fn($num_tags, $scope="$s_crf"):
    with $T.variable_scope($scope):
        return $T.get_variable(${BR}"$s_transitions", [$num_tags, $num_tags],${BR}initializer=$T.random_uniform_initializer(-$n0, $n1))
""",
        {"n0": ("0.1", ("0.05",)), "n1": ("0.1", ("0.05",))},
        ("CRF transition scores between tags.",),
        ("row: previous tag, column: next tag",),
    ),
    Family(
        "batch_norm",
        ("bn_layer", "batchnorm_block", "normalize_batch"),
        """
def $fn($x, $training, $scope="$s_batch_norm"):
    with $T.variable_scope($scope):
        return $T.layers.batch_normalization(${BR}$x, momentum=$n0, epsilon=$n1, training=$training)
""",
        {"n0": ("0.99", ("0.9", "0.997")), "n1": ("0.001", ("1e-05",))},
        ("Batch normalisation; remember the UPDATE_OPS dependency.",),
        ("moving averages need the UPDATE_OPS control dependency",),
    ),
    Family(
        "classifier",
        ("output_layer", "logits_layer", "class_head"),
        """
def $fn($x, $num_classes, $scope="$s_classifier"):
    with $T.variable_scope($scope):
        $pooled = $T.reduce_max($x, axis=1)
        $W = $T.get_variable(${BR}"$s_W", [$pooled.shape[-1], $num_classes],${BR}initializer=$T.truncated_normal_initializer(stddev=$n0))
        $b = $T.get_variable("$s_b", [$num_classes], initializer=$T.zeros_initializer())
        return $T.matmul($pooled, $W) + $b
""",
        {"n0": ("0.02", ("0.1",))},
        ("Max-pool over time, then a linear layer to the class logits.",),
        ("max-pooling over time",),
    ),
    Family(
        "multi_kernel_conv",
        ("multi_width_conv", "ngram_conv", "kim_cnn"),
        """
def $fn($x, $filters, $scope="$s_multi_conv"):
    with $T.variable_scope($scope):
        $outputs = []
        for $width in ($n0, 3, 5):
            $conv = $T.layers.conv1d(${BR}$x, $filters, $width, padding="same", activation=$T.nn.relu)
            $outputs.append($T.reduce_max($conv, axis=1))
        return $T.concat($outputs, axis=-1)
""",
        {"n0": ("2", ("1",))},
        ("Convolutions of several widths, max-pooled and concatenated (Kim 2014).",),
        ("one filter bank per n-gram width",),
    ),
    Family(
        "embed_projection",
        ("factorized_embedding", "embed_and_project", "low_rank_embedding"),
        """
def $fn($ids, $vocab_size, $dim, $proj_dim, $scope="$s_embed_proj"):
    with $T.variable_scope($scope):
        $table = $T.get_variable(${BR}"$s_table", [$vocab_size, $dim],${BR}initializer=$T.random_normal_initializer(stddev=$n0))
        $proj = $T.get_variable("$s_proj", [$dim, $proj_dim])
        $vectors = $T.nn.embedding_lookup($table, $ids)
        return $T.tensordot($vectors, $proj, axes=1)
""",
        {"n0": ("0.02", ("0.01",))},
        ("Factorised embedding: a small table projected up (ALBERT style).",),
        ("saves parameters when the vocabulary is large",),
    ),
    Family(
        "rnn_stack",
        ("stacked_gru", "deep_rnn", "gru_stack"),
        """
def $fn($x, $units, $num_layers, $scope="$s_rnn"):
    with $T.variable_scope($scope):
        $cells = [$T.nn.rnn_cell.GRUCell($units) for _ in range($num_layers)]
        $stacked = $T.nn.rnn_cell.MultiRNNCell($cells)
        $outputs, $final = $T.nn.dynamic_rnn(${BR}$stacked, $x, dtype=$T.float32, parallel_iterations=$n0)
        return $outputs
""",
        {"n0": ("32", ("64",))},
        ("A stack of GRU layers run with dynamic_rnn.",),
        ("final state is unused by the classifier",),
    ),
    Family(
        "ln_dropout",
        ("norm_and_drop", "layer_norm_dropout", "ln_then_dropout"),
        """
def $fn($x, $rate, $scope="$s_ln_dropout"):
    with $T.variable_scope($scope):
        $dim = $x.shape[-1]
        $gamma = $T.get_variable("$s_gamma", [$dim], initializer=$T.ones_initializer())
        $beta = $T.get_variable("$s_beta", [$dim], initializer=$T.zeros_initializer())
        $mean, $variance = $T.nn.moments($x, axes=[-1], keepdims=True)
        $normalized = ($x - $mean) * $T.rsqrt($variance + $n0)
        return feature_dropout($normalized * $gamma + $beta, $rate)
""",
        {"n0": ("1e-06", ("1e-05",))},
        ("Normalise over the feature axis, then drop whole channels.",),
        ("channel dropout, not element-wise",),
        (
            '''
def feature_dropout(x, rate):
    """Drop whole feature channels per example instead of single elements."""
    return $T.nn.dropout(x, rate=rate, noise_shape=[$T.shape(x)[0], 1, $T.shape(x)[2]])
''',
        ),
    ),
    Family(
        "scaled_embed",
        ("scaled_embedding", "embed_scaled", "sqrt_scaled_embed"),
        """
def $fn($ids, $vocab_size, $dim, $scope="$s_scaled_embed"):
    with $T.variable_scope($scope):
        $W = $T.get_variable(${BR}"$s_W", [$vocab_size, $dim],${BR}initializer=$T.random_normal_initializer(stddev=EMBED_INIT_STDDEV))
        return $T.nn.embedding_lookup($W, $ids) * ($dim ** $n0)
""",
        {"n0": ("0.5", ("0.25",))},
        ("Embedding scaled by sqrt(dim), as in the Transformer.",),
        ("the scale matches the positional signal",),
        ("\nEMBED_INIT_STDDEV = 0.02  # shared by every embedding in this file\n",),
    ),
)

FAMILY_BY_NAME = {family.name: family for family in FAMILIES}

# Consistent renamings a "renamed" copy draws from; anything not listed gets a suffix.
IDENTIFIER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "x": ("inputs", "net", "features", "tensor", "layer_in"),
    "ids": ("token_ids", "input_ids", "word_ids", "tokens"),
    "vocab_size": ("n_vocab", "num_tokens", "vocab", "table_rows"),
    "dim": ("width", "emb_dim", "hidden_size", "size", "depth"),
    "scope": ("name", "scope_name", "layer_scope", "var_scope", "block_name"),
    "W": ("table", "kernel", "weights", "w", "matrix"),
    "b": ("bias", "b0", "offset"),
    "h": ("out", "y", "activations", "pre"),
    "width": ("channels", "num_filters", "out_channels", "n_out"),
    "kernel": ("kernel_size", "k_size", "window"),
    "in_dim": ("d_in", "input_dim", "n_in", "channels_in"),
    "units": ("num_units", "n_hidden", "size_"),
    "hidden": ("hid", "transformed", "inner_"),
    "gate": ("carry", "t", "mask"),
    "outputs": ("outs", "results", "seq_out"),
    "table": ("params", "lookup", "emb"),
    "gamma": ("scale_", "g"),
    "beta": ("shift", "bias_"),
    "mean": ("mu", "avg"),
    "variance": ("var", "sigma2"),
    "normalized": ("x_hat", "normed", "z_"),
    "training": ("is_training", "train_mode"),
    "rate": ("dropout_rate", "drop_prob", "p"),
}
NAME_STRING_SYNONYMS: dict[str, tuple[str, ...]] = {
    "W": ("kernel", "weights", "w", "matrix"),
    "b": ("bias", "b0", "offset"),
    "gamma": ("scale", "g"),
    "beta": ("shift", "offset"),
    "table": ("embeddings", "lookup_table"),
    "embed": ("token_embedding", "embedding", "word_embeddings"),
}
SUFFIXES = ("_t", "_v", "_val", "2", "_var")
NAME_SUFFIXES = ("_layer", "_block", "_op", "_weights", "_params")

# Trunk templates: a file's build function follows one of these for its first 1-5 layers.
_EMBED = LayerSpec("embed", "h = $fn(token_ids, VOCAB_SIZE, EMBED_DIM)")
TRUNKS: dict[str, tuple[LayerSpec, ...]] = {
    "conv": (
        _EMBED,
        LayerSpec(
            "conv_block",
            'h = $fn(h, {width}, {kernel}, "conv1")',
            {"width": (("128", 6), ("256", 2)), "kernel": (("3", 7), ("5", 2))},
        ),
        LayerSpec(
            "conv_block", 'h = $fn(h, {width}, 3, "conv2")', {"width": (("128", 6), ("256", 2))}
        ),
        LayerSpec("layer_norm", "h = $fn(h)"),
        LayerSpec("dense_block", "h = $fn(h, {units})", {"units": (("128", 5), ("64", 3))}),
    ),
    "rnn": (
        _EMBED,
        LayerSpec("bilstm", "h = $fn(h, {units}, lengths)", {"units": (("128", 6), ("256", 2))}),
        LayerSpec("highway", 'h = $fn(h, "highway1")'),
        LayerSpec("projection", "h = $fn(h, {out})", {"out": (("256", 5), ("128", 3))}),
        LayerSpec("layer_norm", "h = $fn(h)"),
    ),
    "attn": (
        _EMBED,
        LayerSpec(
            "position_embedding", "h = h + $fn(h, {max_len})", {"max_len": (("512", 6), ("128", 2))}
        ),
        LayerSpec(
            "attention",
            "h = $fn(h, {heads}, {head_dim})",
            {"heads": (("4", 6), ("8", 3)), "head_dim": (("16", 6), ("32", 2))},
        ),
        LayerSpec("feed_forward", "h = $fn(h, {hidden})", {"hidden": (("256", 6), ("512", 2))}),
        LayerSpec("layer_norm", 'h = $fn(h, "ln_out")'),
    ),
    "gated": (
        _EMBED,
        LayerSpec(
            "glu",
            "h = $fn(h, {width}, {kernel})",
            {"width": (("128", 6), ("64", 2)), "kernel": (("3", 6), ("5", 2))},
        ),
        LayerSpec(
            "conv_pool",
            "h = $fn(h, {filters}, 3, {pool})",
            {"filters": (("128", 6), ("256", 2)), "pool": (("2", 6), ("3", 2))},
        ),
        LayerSpec("squeeze_excite", "h = $fn(h, {ratio})", {"ratio": (("4", 6), ("8", 2))}),
        LayerSpec("residual_dense", "h = $fn(h, {units})", {"units": (("256", 6), ("512", 2))}),
    ),
}
VOCAB_CHOICES = (("20000", 6), ("30000", 3), ("50000", 1))
EMBED_DIM_CHOICES = (("64", 5), ("128", 3))

# Layers a build may add after its trunk, from families that no trunk uses.
TAIL_LAYERS: tuple[LayerSpec, ...] = (
    LayerSpec("gated_residual", "h = $fn(h)"),
    LayerSpec("highway", 'h = $fn(h, "highway_tail")'),
    LayerSpec(
        "dense_block", 'h = $fn(h, {units}, "dense_tail")', {"units": (("64", 1), ("32", 1))}
    ),
    LayerSpec("projection", 'h = $fn(h, {out}, "proj_tail")', {"out": (("64", 1), ("128", 1))}),
)

TASKS = (
    ("sentiment", "Binary sentiment classifier", 2),
    ("topic", "Topic classifier over news headlines", 5),
    ("intent", "Intent classifier for assistant queries", 7),
    ("toxicity", "Toxic-comment detector", 2),
    ("spam", "Spam filter for support tickets", 2),
    ("language_id", "Language identification", 12),
    ("nli", "Natural-language inference (entail/neutral/contradict)", 3),
    ("paraphrase", "Paraphrase detector for question pairs", 2),
    ("emotion", "Emotion classifier", 6),
    ("domain", "Domain classifier for search queries", 9),
    ("urgency", "Ticket urgency classifier", 4),
    ("ner_sentence", "Sentence-level entity-type classifier", 9),
    ("qa_answerable", "Answerability classifier", 2),
    ("stance", "Stance detector", 3),
)
MODEL_FOLDERS = (
    ("", 4),
    ("classification", 3),
    ("tagging", 1),
    ("retrieval", 1),
    ("experiments/2019", 1),
    ("experiments/ablations", 1),
    ("legacy", 1),
)
UTIL_FOLDERS = (("", 1), ("utils", 3), ("scripts", 2), ("data", 2))

MODULE_DOC_TAILS = (
    "its trunk was copy-pasted from the {other} model.",
    "see the {other} model for the original layers.",
    "a retuned variant of the {other} model.",
    "embedding, {trunk} layers, pooling and a dense head.",
    "trained on the {split} split; builders kept local on purpose.",
)
GENERIC_COMMENTS = (
    "TODO: tune this on the dev set",
    "copied from the {other} model",
    "keep in sync with {other}",
    "shape: [batch, time, dim]",
    "same as upstream, do not change without retraining",
    "see the design doc for why",
    "NOTE: graph mode only",
    "XXX: revisit after the next data refresh",
)

BUILD_HEAD = '''
def build_model(token_ids, labels):
    """Build the graph; returns (logits [batch, {classes}], scalar loss)."""
'''
BUILD_TAIL = (
    "pooled = $T.reduce_max(h, axis=1)",
    'logits = $T.layers.dense(pooled, NUM_CLASSES, name="{head}")',
    "xent = $T.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)",
    "loss = $T.reduce_mean(xent)",
    "return logits, loss",
)
TRAIN_OP = '''
def train_op(loss, learning_rate=LEARNING_RATE):
    """Adam with gradient clipping; the global step is created here."""
    optimizer = $T.train.AdamOptimizer(learning_rate)
    grads, variables = zip(*optimizer.compute_gradients(loss))
    grads, _ = $T.clip_by_global_norm(grads, {clip})
    return optimizer.apply_gradients(zip(grads, variables), global_step=$T.train.get_or_create_global_step())
'''
COUNT_PARAMS = '''
def count_parameters():
    """Number of trainable scalars in the default graph."""
    return sum(v.shape.num_elements() for v in $T.trainable_variables())
'''

# Non-TensorFlow modules: utilities, data loading and command-line scripts.
UTIL_IMPORTS = (
    "import collections",
    "import csv",
    "import json",
    "import os",
    "import random",
    "import re",
)
UTIL_FUNCTIONS: tuple[str, ...] = (
    '''
def normalize_text(text):
    """Lower-case, strip accents the cheap way and squeeze whitespace."""
    text = text.lower().replace("\\u00e9", "e").replace("\\u00e8", "e")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return re.sub(r"\\s+", " ", text).strip()
''',
    '''
def tokenize(text, max_tokens=$n0):
    """Whitespace tokens after normalisation, truncated to max_tokens."""
    tokens = normalize_text(text).split()
    return tokens[:max_tokens]
''',
    '''
def build_vocab(sentences, min_count=$n1, max_size=$n2):
    """Most frequent tokens first; ids 0 and 1 are padding and unknown."""
    counts = collections.Counter(token for sentence in sentences for token in sentence)
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, count in counts.most_common(max_size):
        if count < min_count:
            break
        vocab[token] = len(vocab)
    return vocab
''',
    '''
def encode(tokens, vocab):
    """Map tokens to ids, unknown tokens to 1."""
    return [vocab.get(token, 1) for token in tokens]
''',
    '''
def pad_batch(sequences, pad_id=0, max_len=None):
    """Right-pad a batch of id lists to a common length."""
    longest = max(len(seq) for seq in sequences) if sequences else 0
    length = min(longest, max_len) if max_len else longest
    return [seq[:length] + [pad_id] * (length - len(seq[:length])) for seq in sequences]
''',
    '''
def read_tsv(path, text_column=$n3, label_column=0):
    """Rows of a tab-separated file as (text, label) pairs, header skipped."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\\t")
        next(reader, None)
        return [(row[text_column], row[label_column]) for row in reader if len(row) > text_column]
''',
    '''
def read_jsonl(path):
    """One JSON object per line; blank lines are skipped."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                records.append(json.loads(line))
    return records
''',
    '''
def train_dev_split(examples, dev_fraction=$n4, seed=$n5):
    """Shuffle with a fixed seed and cut off the dev set."""
    examples = list(examples)
    random.Random(seed).shuffle(examples)
    cut = int(len(examples) * (1 - dev_fraction))
    return examples[:cut], examples[cut:]
''',
    '''
def batches(items, batch_size=$n6):
    """Consecutive slices of at most batch_size items."""
    for start in range(0, len(items), batch_size):
        yield items[start:start + batch_size]
''',
    '''
def accuracy(predictions, labels):
    """Fraction of exact matches."""
    if not labels:
        return 0.0
    return sum(int(p == y) for p, y in zip(predictions, labels)) / len(labels)
''',
    '''
def macro_f1(predictions, labels):
    """Unweighted mean of per-class F1 scores."""
    scores = []
    for label in sorted(set(labels)):
        tp = sum(1 for p, y in zip(predictions, labels) if p == label and y == label)
        fp = sum(1 for p, y in zip(predictions, labels) if p == label and y != label)
        fn = sum(1 for p, y in zip(predictions, labels) if p != label and y == label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0
''',
    '''
def save_vocab(vocab, path):
    """One token per line, in id order."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for token, _ in sorted(vocab.items(), key=lambda item: item[1]):
            handle.write(token + "\\n")
''',
    '''
def load_vocab(path):
    """Inverse of save_vocab."""
    with open(path, encoding="utf-8") as handle:
        return {line.rstrip("\\n"): index for index, line in enumerate(handle)}
''',
    '''
class RunningMean:
    """Numerically stable running mean of a stream of floats."""

    def __init__(self):
        self.count = 0
        self.mean = 0.0

    def add(self, value):
        self.count += 1
        self.mean += (value - self.mean) / self.count
        return self.mean
''',
)
UTIL_NUMBERS = {
    "n0": ("128", "256", "512"),
    "n1": ("1", "2", "5"),
    "n2": ("20000", "30000", "50000"),
    "n3": ("1", "2"),
    "n4": ("0.1", "0.05", "0.2"),
    "n5": ("13", "42", "1234"),
    "n6": ("32", "64", "128"),
}
SCRIPT_MAIN = '''

def parse_args(argv=None):
    """Command-line options of this script."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input", help="training data ({fmt})")
    parser.add_argument("--output", default="{out}", help="where to write the result")
    parser.add_argument("--max-tokens", type=int, default={n0})
    parser.add_argument("--seed", type=int, default={seed})
    return parser.parse_args(argv)


def main(argv=None):
    """Read, tokenize and summarise the input file."""
    args = parse_args(argv)
    rows = {reader}(args.input)
    print("read %d rows from %s" % (len(rows), args.input))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''
UTIL_DOCS = {
    "text_utils": "Text preprocessing helpers shared by the training scripts.",
    "data_io": "Data loading: TSV/JSONL readers, splits and batching.",
    "metrics": "Evaluation metrics and small numeric helpers.",
    "vocab_tools": "Vocabulary building and (de)serialisation.",
    "prepare_data": "Command-line tool: {what}.",
    "export_cli": "Command-line tool: {what}.",
}
