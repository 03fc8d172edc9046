"""Weight-sharing supernets: elastic networks that run every architecture of a space.

Once-for-all (Cai et al., ICLR 2020) and BigNAS (Yu et al., ECCV 2020). ``mobile``:
:class:`ElasticMobileNet` (elastic kernel, expand ratio, depth and resolution) and :func:`extract`
(the static sub-network with inherited weights); :func:`load_supernet` (a trained supernet from its
checkpoint). See ``docs/supernet.md``.
"""

from __future__ import annotations

from hynas.supernets.extract import export_subnet, extract
from hynas.supernets.mobile import ElasticMBConv, ElasticMobileConfig, ElasticMobileNet
from hynas.supernets.saved import load_supernet

__all__ = [
    "ElasticMBConv",
    "ElasticMobileConfig",
    "ElasticMobileNet",
    "export_subnet",
    "extract",
    "load_supernet",
]
