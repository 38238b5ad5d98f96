"""The `--data` presets: the original's shell scripts as flag values.

`amazon`, `gowalla`, `movielens` and `yelp` are the values that the original's
`amazon.sh`, `gowalla.sh`, `movielens.sh` and `yelp.sh` pass to its `main.py`;
`ml-100k`, `ml-1m` and `ml-1m-sasrec` are the MovieLens sets that `data_prep` fetches
(with `movielens.sh`'s values), and `tiny` is `data_prep.synthetic`'s small set.
`selfgnn.params.from_flags` applies a preset to every flag not given explicitly.
Keys are flag names of `selfgnn.main_flags.SPECS` (SelfGNN's, the baselines' and
HardGNN's flags).
"""

_MOVIELENS = dict(lr=1e-3, reg=1e-2, ssl_reg=1e-6, epoch=150, batch=512, sampNum=40, sslNum=90,
                  graphNum=6, gnn_layer=2, att_layer=3, test=True, testSize=1000, ssldim=48,
                  keepRate=0.5, pos_length=200, leaky=0.5)

PRESETS = {
    "amazon": dict(reg=1e-2, lr=1e-3, temp=0.1, ssl_reg=1e-6, save_path="amazon", epoch=150,
                   batch=512, sslNum=80, graphNum=5, pred_num=0, gnn_layer=3, test=True,
                   att_layer=4, testSize=1000, keepRate=0.5, sampNum=40, pos_length=200),
    "gowalla": dict(lr=2e-3, reg=1e-2, temp=0.1, ssl_reg=1e-6, save_path="gowalla", epoch=150,
                    batch=512, sslNum=40, graphNum=3, gnn_layer=2, att_layer=1, test=True,
                    testSize=1000, ssldim=48),
    "movielens": dict(_MOVIELENS, save_path="movie6"),
    "yelp": dict(reg=1e-2, temp=0.1, ssl_reg=1e-7, save_path="yelp12", epoch=150, batch=512,
                 sslNum=40, graphNum=12, gnn_layer=3, att_layer=2, test=True, testSize=1000,
                 ssldim=32, sampNum=40),
    # MovieLens-100K / -1M prepared by data_prep (G = 6): movielens.sh's values.
    "ml-100k": dict(_MOVIELENS, save_path="ml-100k"),
    "ml-1m": dict(_MOVIELENS, save_path="ml-1m"),
    # ML-1M under the SASRec paper's protocol: 100 negatives (testSize 101), the clean
    # protocol (train on sequence[:-2], choose on the item before the test item, test
    # history without the test item), 200 epochs tested every 20 as its code does.
    # The baselines' grid is off: SASRec runs with the paper's own ML-1M values.
    "ml-1m-sasrec": dict(_MOVIELENS, save_path="ml-1m-sasrec", testSize=101, protocol="clean",
                         epoch=200, tstEpoch=20, baseline_grid=False),
    "tiny": dict(lr=1e-2, reg=1e-3, ssl_reg=1e-4, save_path="tiny", epoch=3, batch=32, sslNum=5,
                 graphNum=3, gnn_layer=2, att_layer=2, testSize=50, latdim=16,
                 num_attention_heads=4, ssldim=8, pos_length=20, pred_num=0),
}
