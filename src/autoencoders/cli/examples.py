"""Each verb's examples, shown at the end of its ``--help``."""

__all__ = ["EXAMPLES"]

EXAMPLES = {
    "fit": ["autoencoders fit --dataset mnist --out runs/mnist --map",
            "autoencoders fit --input table.csv --id-column id --label-column kind "
            "--input-scaling minmax --out runs/table"],
    "demo": ["autoencoders demo", "autoencoders demo --dataset fashion-mnist --out runs/fashion"],
    "embed": ["autoencoders embed runs/mnist --dataset mnist --split test --out codes.parquet",
              "autoencoders embed runs/mnist --input new.npy --map --out map.csv"],
    "reconstruct": ["autoencoders reconstruct runs/table --input table.csv --out recon.csv"],
    "score": ["autoencoders score runs/table --input new.csv --out scores.csv --top 20"],
    "evaluate": ["autoencoders evaluate runs/mnist --dataset mnist",
                 "autoencoders evaluate runs/table --input table.csv --baselines pca,tsne"],
    "cluster": ["autoencoders cluster runs/mnist --dataset mnist --split all --n-clusters 10 "
                "--out clusters.csv"],
    "denoise": ["autoencoders denoise runs/denoising --dataset mnist --add-noise gaussian:0.3 "
                "--out denoised.npy --figure denoised.png"],
    "sample": ["autoencoders sample runs/vae -n 64 --out samples.png"],
    "interpolate": ["autoencoders interpolate runs/mnist --from 0 --to 1 --steps 10 "
                    "--out line.png"],
    "report": ["autoencoders report runs/mnist",
               "autoencoders report runs/dense runs/conv --out compare.html"],
    "export": ["autoencoders export runs/mnist --part encoder --input-dtype uint8 "
               "--out encoder.onnx",
               "autoencoders export runs/mnist --part map --format torchscript --out map.pt"],
    "summary": ["autoencoders summary runs/mnist", "autoencoders summary --preset notebook"],
}
