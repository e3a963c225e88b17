import numpy as np
from PIL import Image

from autoencoders.plotting import as_images, plot_history, plot_maps, plot_reconstructions


def _png_size(path):
    with Image.open(path) as img:
        assert img.format == "PNG"
        return img.size


def test_loss_curve_with_validation_and_reference(tmp_path):
    history = {"epoch": [1, 2, 3], "train_loss": [0.3, 0.2, 0.1], "val_loss": [0.35, 0.25, 0.2]}
    path = plot_history(history, tmp_path / "loss.png", reference=0.0956)
    assert _png_size(path)[0] > 300


def test_loss_curve_without_a_path_is_a_figure_of_a_fitted_estimator(blobs):
    from matplotlib.figure import Figure

    from autoencoders import AutoEncoder

    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=3, verbose=0).fit(blobs[0])
    fig = plot_history(ae)
    assert isinstance(fig, Figure)
    assert list(fig.axes[0].lines[0].get_ydata()) == ae.history_["train_loss"]


def test_reconstructions_of_images_and_of_tables(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(10, 28, 28))
    w_img, h_img = _png_size(plot_reconstructions(images, images, tmp_path / "img.png",
                                                  labels=np.arange(10)))
    assert w_img > h_img  # one row of pairs: wide
    # flat MNIST is still drawn as 28x28 images; a 12-column table as line plots
    assert as_images(images.reshape(10, 784)).shape == (10, 28, 28)
    table = rng.uniform(size=(4, 12))
    assert as_images(table) is None
    w_tab, h_tab = _png_size(plot_reconstructions(table, table * 0.9, tmp_path / "table.png"))
    assert h_tab > 100


def test_maps_side_by_side_with_and_without_labels(tmp_path):
    rng = np.random.default_rng(0)
    maps = {"PCA of the codes": rng.normal(size=(50, 2)), "t-SNE": rng.normal(size=(50, 2))}
    one = _png_size(plot_maps({"PCA of the codes": maps["PCA of the codes"]}, None,
                              tmp_path / "one.png"))
    two = _png_size(plot_maps(maps, rng.integers(0, 3, 50), tmp_path / "two.png",
                              axis_labels={"PCA of the codes": ("PC 1", "PC 2")}))
    assert two[0] > 1.5 * one[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_data_sets_class_names_name_its_labels_in_the_legend(tmp_path):
    from autoencoders.datasets import class_names, label_names

    names = class_names("fashion-mnist")
    assert names[0] == "T-shirt/top" and names[9] == "Ankle boot" and len(names) == 10
    assert class_names("mnist") is None
    assert label_names(np.array([0, 9, 3]), names) == ["T-shirt/top", "Ankle boot", "Dress"]
    assert label_names(["cat", 12], names) == ["cat", "12"]  # not an index: as it is
    from matplotlib.figure import Figure

    drawn = []
    original = Figure.legend

    def recording(self, *args, **kwargs):
        drawn.append(list(args[1]))
        return original(self, *args, **kwargs)

    rng = np.random.default_rng(0)
    try:
        Figure.legend = recording
        plot_maps({"map": rng.normal(size=(30, 2))}, np.arange(30) % 3, tmp_path / "m.png",
                  names=names)
    finally:
        Figure.legend = original
    assert drawn == [["T-shirt/top", "Trouser", "Pullover"]]
