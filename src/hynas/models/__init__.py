"""The networks the search spaces build, in plain, readable PyTorch (nanoGPT style).

Two kinds of module. A network's *description* imports no torch: :mod:`hynas.models.nb201_cell`
(the NAS-Bench-201 cell's operations and edges), :mod:`hynas.models.nb101_graph` (NAS-Bench-101 cell
graphs), :mod:`hynas.models.mobile_config` (MBConv blocks of a mobile network) and
:mod:`hynas.models.lm_spec` (the layer-spec language of hybrid LMs). A space decodes an architecture
into one, and cost models read it. The *PyTorch module* built from it imports torch:
:mod:`hynas.models.nb201`, :mod:`hynas.models.ecnas`, :mod:`hynas.models.mobile`,
:mod:`hynas.models.hybrid_lm` (with :mod:`hynas.models.lm_ssm`).

Spaces import this package (each space's ``build`` imports its network lazily, so importing
:mod:`hynas` does not import torch); this package never imports :mod:`hynas.spaces`.
"""
