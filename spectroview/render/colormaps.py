"""Colormap lookup tables for rendering spectrograms to RGB images.

Pure numpy; no Qt or plotting library is imported here so that the headless
exporters can use it.

Data provenance
---------------
The ``viridis``, ``magma``, ``inferno`` and ``plasma`` tables are the
matplotlib colormaps by Stéfan van der Walt and Nathaniel Smith (viridis
also by Eric Firing); ``cividis`` is by Jamie R. Nuñez, Christopher R.
Anderton and Ryan S. Renslow (PLoS ONE 13(7): e0199239,
https://doi.org/10.1371/journal.pone.0199239). All five are released under
the CC0 1.0 public domain dedication
(https://creativecommons.org/publicdomain/zero/1.0/); the creators ask for
credit, which this note gives.

The hex strings below were extracted once from the CSV files bundled with
pyqtgraph 0.14 (``pyqtgraph/colors/maps/<name>.csv``, one ``r,g,b`` float
row in [0, 1] per entry after ``;`` comment lines, 256 rows each). Each
channel was converted with ``int(255 * x + 0.5)`` (the rounding pyqtgraph
itself uses, so the tables match ``pyqtgraph.colormap.get(name)``), and the
(256, 3) uint8 array was written as ``array.tobytes().hex()``. A CSV with a
different number of rows would have been resampled to 256 entries by linear
interpolation first; none needed it.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["COLORMAPS", "apply_colormap", "colormap_lut"]

#: Number of entries in every lookup table.
LUT_SIZE = 256

# Per map: 256 RGB triplets, 6 hex characters each (RRGGBB), row 0 first.
# CC0 data, see the module docstring for the source and authors.
_HEX_DATA: dict[str, str] = {
    "viridis": (
        "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164"
        "47136548146748166848176948186a481a6c481b6d481c6e481d6f481f70482071482173"
        "482374482475482576482677482878482979472a7a472c7a472d7b472e7c472f7d46307e"
        "46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
        "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a"
        "3d4e8a3c4f8a3c508b3b518b3b528b3a538b3a548c39558c39568c38588c38598c375a8c"
        "375b8d365c8d365d8d355e8d355f8d34608d34618d33628d33638d32648e32658e31668e"
        "31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
        "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e"
        "277e8e277f8e27808e26818e26828e26828e25838e25848e25858e24868e24878e23888e"
        "23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d21918c20928c20928c20938c"
        "1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
        "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa83"
        "25ab8225ac8226ad8127ad8128ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b"
        "32b67a34b67935b77937b87838b9773aba763bbb753dbc743fbc7340bd7242be7144bf70"
        "46c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
        "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d153"
        "7ad1517cd2507fd34e81d34d84d44b86d54989d5488bd6468ed64590d74393d74195d840"
        "98d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32addc30b0dd2fb2dd2db5de2b"
        "b8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
        "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61e"
        "f6e620f8e621fbe723fde725"
    ),
    "magma": (
        "00000401000501010601010802010902020b02020d03030f030312040414050416060518"
        "06051a07061c08071e0907200a08220b09240c09260d0a290e0b2b100b2d110c2f120d31"
        "130d34140e36150e38160f3b180f3d19103f1a10421c10441d11471e114920114b21114e"
        "22115024125325125527125829115a2a115c2c115f2d11612f1163311165331067341069"
        "36106b38106c390f6e3b0f703d0f713f0f72400f74420f75440f76451077471078491078"
        "4a10794c117a4e117b4f127b51127c52137c54137d56147d57157e59157e5a167e5c167f"
        "5d177f5f187f601880621980641a80651a80671b80681c816a1c816b1d816d1d816e1e81"
        "701f81721f817320817521817621817822817922827b23827c23827e2482802582812581"
        "8326818426818627818827818928818b29818c29818e2a81902a81912b81932b80942c80"
        "962c80982d80992d809b2e7f9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327d"
        "aa337dab337cad347cae347bb0357bb2357bb3367ab5367ab73779b83779ba3878bc3978"
        "bd3977bf3a77c03a76c23b75c43c75c53c74c73d73c83e73ca3e72cc3f71cd4071cf4070"
        "d0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476adc4869de4968df4a68e04c67"
        "e24d66e34e65e44f64e55064e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5e"
        "ef5d5ef05f5ef1605df2625df2645cf3655cf4675cf4695cf56b5cf66c5cf66e5cf7705c"
        "f7725cf8745cf8765cf9785df9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761"
        "fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668fd9869fd9a6afd9b6bfe9d6c"
        "fe9f6dfea16efea36ffea571fea772fea973feaa74feac76feae77feb078feb27afeb47b"
        "feb67cfeb77efeb97ffebb81febd82febf84fec185fec287fec488fec68afec88cfeca8d"
        "fecc8ffecd90fecf92fed194fed395fed597fed799fed89afdda9cfddc9efddea0fde0a1"
        "fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0fcf0b2fcf2b4fcf4b6fcf6b8"
        "fcf7b9fcf9bbfcfbbdfcfdbf"
    ),
    "inferno": (
        "00000401000501010601010802010a02020c02020e030210040312040314050417060419"
        "07051b08051d09061f0a07220b07240c08260d08290e092b10092d110a30120a32140b34"
        "150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48210c4a230c4c240c4f260c51"
        "280b53290b552b0b572d0b592f0a5b310a5c320a5e340a5f3609613809623909633b0964"
        "3d09653e0966400a67420a68440a68450a69470b6a490b6a4a0c6b4c0c6b4d0d6c4f0d6c"
        "510e6c520e6d540f6d550f6d57106e59106e5a116e5c126e5d126e5f136e61136e62146e"
        "64156e65156e67166e69166e6a176e6c186e6d186e6f196e71196e721a6e741a6e751b6e"
        "771c6d781c6d7a1d6d7c1d6d7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a"
        "8a226a8c23698d23698f24699025689225689326679526679727669827669a28659b2964"
        "9d29649f2a63a02a63a22b62a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305c"
        "b0315bb1325ab3325ab43359b63458b73557b93556ba3655bc3754bd3853bf3952c03a51"
        "c13a50c33b4fc43c4ec63d4dc73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545"
        "d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3cdb503bdd513ade5238df5337"
        "e05536e15635e25734e35933e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429"
        "eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711ff1731df2741cf3761bf37819"
        "f47918f57b17f57d15f67e14f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a"
        "f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06fb9d07fc9f07fca108fca309"
        "fca50afca60cfca80dfcaa0ffcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1f"
        "fbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932f9cb35f8cd37f8cf3af7d13d"
        "f7d340f6d543f6d746f5d949f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865"
        "f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586f3f68af4f88ef5f992f6fa96"
        "f8fb9af9fc9dfafda1fcffa4"
    ),
    "plasma": (
        "0d088710078813078916078a19068c1b068d1d068e20068f220690240691260591280592"
        "2a05932c05942e05952f059631059733059735049837049938049a3a049a3c049b3e049c"
        "3f049c41049d43039e44039e46039f48039f4903a04b03a14c02a14e02a25002a25102a3"
        "5302a35502a45601a45801a45901a55b01a55c01a65e01a66001a66100a76300a76400a7"
        "6600a76700a86900a86a00a86c00a86e00a86f00a87100a87201a87401a87501a87701a8"
        "7801a87a02a87b02a87d03a87e03a88004a88104a78305a78405a78606a68707a68808a6"
        "8a09a58b0aa58d0ba58e0ca48f0da4910ea3920fa39410a29511a19613a19814a099159f"
        "9a169f9c179e9d189d9e199da01a9ca11b9ba21d9aa31e9aa51f99a62098a72197a82296"
        "aa2395ab2494ac2694ad2793ae2892b02991b12a90b22b8fb32c8eb42e8db52f8cb6308b"
        "b7318ab83289ba3388bb3488bc3587bd3786be3885bf3984c03a83c13b82c23c81c33d80"
        "c43e7fc5407ec6417dc7427cc8437bc9447aca457acb4679cc4778cc4977cd4a76ce4b75"
        "cf4c74d04d73d14e72d24f71d35171d45270d5536fd5546ed6556dd7566cd8576bd9586a"
        "da5a6ada5b69db5c68dc5d67dd5e66de5f65de6164df6263e06363e16462e26561e26660"
        "e3685fe4695ee56a5de56b5de66c5ce76e5be76f5ae87059e97158e97257ea7457eb7556"
        "eb7655ec7754ed7953ed7a52ee7b51ef7c51ef7e50f07f4ff0804ef1814df1834cf2844b"
        "f3854bf3874af48849f48948f58b47f58c46f68d45f68f44f79044f79143f79342f89441"
        "f89540f9973ff9983ef99a3efa9b3dfa9c3cfa9e3bfb9f3afba139fba238fca338fca537"
        "fca636fca835fca934fdab33fdac33fdae32fdaf31fdb130fdb22ffdb42ffdb52efeb72d"
        "feb82cfeba2cfebb2bfebd2afebe2afec029fdc229fdc328fdc527fdc627fdc827fdca26"
        "fdcb26fccd25fcce25fcd025fcd225fbd324fbd524fbd724fad824fada24f9dc24f9dd25"
        "f8df25f8e125f7e225f7e425f6e626f6e826f5e926f5eb27f4ed27f3ee27f3f027f2f227"
        "f1f426f1f525f0f724f0f921"
    ),
    "cividis": (
        "00204d00214e00225000225200235300245500255700255800265a00275c00275e002860"
        "002961002a63002a65002b67002c69002c6a002d6c002e6e002e6f002f6f002f6f00306f"
        "00306f00316f00326f00336f00336f00346f00356e01366e06366e0b376e0f386e12386d"
        "15396d183a6d1a3b6d1d3b6d1f3c6d213d6d233e6c243e6c263f6c28406c2a406c2b416c"
        "2d426c2e436c30436c31446b32456b34456b35466b36476b38486b39486b3a496b3b4a6b"
        "3d4a6b3e4b6b3f4c6b404d6b414d6b424e6b434f6b444f6b46506b47516b48526b49526b"
        "4a536b4b546c4c546c4d556c4e566c4f576c50576c51586c52596c53596c545a6c555b6d"
        "565c6d575c6d585d6d595e6d595f6d5a5f6d5b606e5c616e5d616e5e626e5f636e60646f"
        "61646f62656f63666f64666f646770656870666970676970686a71696b716a6c716b6c71"
        "6c6d726c6e726d6e726e6f736f7073707173717174727274727374737475747475757575"
        "7676767777767877777878777979777a7a787b7a787c7b787d7c787e7d787f7d78807e79"
        "817f798280798380798481798482798583798683798784798885798986798a87798b8779"
        "8c88798d89798e8a798f8a79908b79918c78928d78938e78948e78958f78969078979178"
        "9892789992789a93779b94779c95779d96779e96779f9777a09877a19976a29a76a39a76"
        "a49b76a59c76a69d75a89e75a99f75aa9f75aba074aca174ada274aea374afa473b0a473"
        "b1a573b2a672b3a772b4a872b5a971b6a971b7aa71b8ab70b9ac70baad70bbae6fbcaf6f"
        "beaf6fbfb06ec0b16ec1b26dc2b36dc3b46dc4b56cc5b56cc6b66bc7b76bc8b86ac9b96a"
        "cbba69ccbb69cdbc68cebc68cfbd67d0be67d1bf66d2c066d3c165d4c264d6c364d7c463"
        "d8c563d9c562dac661dbc761dcc860ddc95fdeca5fe0cb5ee1cc5de2cd5ce3ce5ce4cf5b"
        "e5d05ae6d159e8d259e9d358ead357ebd456ecd555edd654efd753f0d852f1d951f2da50"
        "f3db4ff4dc4ef6dd4df7de4cf8df4bf9e04afae149fbe248fde346fee445ffe544ffe642"
        "ffe742ffe843ffe944ffea46"
    ),
}

#: Colormap names offered to users, in menu order ("gray" is also accepted).
COLORMAPS: tuple[str, ...] = (*_HEX_DATA, "grey")

_ALIASES: dict[str, str] = {"gray": "grey"}


@functools.cache
def _decode(name: str) -> np.ndarray:
    """Build the read-only (256, 3) uint8 table for a canonical name."""
    if name == "grey":
        lut = np.repeat(np.arange(LUT_SIZE, dtype=np.uint8)[:, None], 3, axis=1)
    else:
        raw = bytes.fromhex(_HEX_DATA[name])
        lut = np.frombuffer(raw, dtype=np.uint8).reshape(LUT_SIZE, 3).copy()
    # The table is cached and shared between callers, so nobody may edit it.
    lut.flags.writeable = False
    return lut


def _canonical_name(name: str) -> str:
    """Map a user-supplied name (any case, or an alias) to a key of COLORMAPS."""
    key = name.strip().lower() if isinstance(name, str) else None
    key = _ALIASES.get(key, key)
    if key not in COLORMAPS:
        raise ValueError(f"colormap={name!r}: unknown; choose one of {', '.join(COLORMAPS)}")
    return key


def colormap_lut(name: str) -> np.ndarray:
    """Return the lookup table of a colormap.

    Parameters
    ----------
    name : str
        One of :data:`COLORMAPS` or the alias ``"gray"``; case-insensitive.

    Returns
    -------
    numpy.ndarray
        Shape (256, 3), dtype uint8, RGB with row 0 for the lowest value.
        The array is shared and read-only; copy it before modifying.

    Raises
    ------
    ValueError
        If `name` is not a known colormap.
    """
    return _decode(_canonical_name(name))


def apply_colormap(values: np.ndarray, name: str, *, vmin: float, vmax: float) -> np.ndarray:
    """Map a 2-D array of scalars to RGB colours.

    The range [`vmin`, `vmax`] is split into 256 equal-width bins, one per
    table entry (the same binning pyqtgraph's ``ImageItem`` uses), so
    ``vmin`` gets entry 0 and ``vmax`` entry 255. Values outside the range
    are clipped to the end entries; NaN gets entry 0, like silence.

    Parameters
    ----------
    values : numpy.ndarray
        Shape (height, width), real numeric dtype (typically float32 power in
        dB). Computation is done in float32.
    name : str
        Colormap name, see :func:`colormap_lut`.
    vmin, vmax : float
        Finite values, in the units of `values`, mapped to the first and last
        colours; ``vmin < vmax`` is required.

    Returns
    -------
    numpy.ndarray
        Shape (height, width, 3), dtype uint8, C-contiguous RGB image.

    Raises
    ------
    ValueError
        If `values` is not 2-D, its dtype is not real numeric, `name` is
        unknown, or `vmin`/`vmax` are not finite with ``vmin < vmax``.
    """
    lut = colormap_lut(name)
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"values: expected a 2-D (height, width) array, got shape {values.shape}")
    if values.dtype.kind not in "fiu":
        raise ValueError(f"values: expected a real numeric dtype, got {values.dtype}")
    vmin = float(vmin)
    vmax = float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax) and vmin < vmax):
        raise ValueError(f"vmin={vmin!r}, vmax={vmax!r}: need finite values with vmin < vmax")

    # float32 halves memory traffic compared with float64 and is ample for
    # choosing one of 256 bins.
    scale = np.float32(LUT_SIZE / (vmax - vmin))
    idx = np.subtract(values, np.float32(vmin), dtype=np.float32)
    idx *= scale
    # fmax (unlike maximum) returns the non-NaN operand, so NaN becomes 0
    # here and the cast below never sees a NaN (which would be undefined).
    np.fmax(idx, 0.0, out=idx)
    np.minimum(idx, LUT_SIZE - 1, out=idx)
    # The float -> uint8 cast truncates, i.e. floors the non-negative indices.
    return np.take(lut, idx.astype(np.uint8), axis=0)
