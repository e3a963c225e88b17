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


def _drawn(fig):
    """``fig`` laid out and drawn (as when saved), with its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    return renderer


def _point_colours(ax) -> list[str]:
    """The colour of each point of the first scatter plot of ``ax``, as ``#rrggbb``."""
    from matplotlib.colors import to_hex

    return [to_hex(c, keep_alpha=False) for c in ax.collections[0].get_facecolors()]


def test_two_classes_are_blue_and_orange_not_the_two_ends_of_the_palette():
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    labels = np.array(["malignant", "benign"] * 10)
    fig = plot_maps({"map": np.random.default_rng(0).normal(size=(20, 2))}, labels, None)
    colours = _point_colours(fig.axes[0])
    tab10 = [to_hex(c) for c in colormaps["tab10"].colors]
    # sorted order: "benign" is the first class, blue; "malignant" the second, orange
    assert colours[:2] == [tab10[1], tab10[0]] and len(set(colours)) == 2


def test_the_figures_and_the_report_order_and_colour_each_class_alike(blobs, tmp_path):
    from matplotlib.colors import to_hex

    from autoencoders import AutoEncoder
    from autoencoders.datasets import class_names
    from autoencoders.plotting import plot_code_values
    from autoencoders.report import render, run_view

    X, y = blobs  # labels 0, 1, 2: "T-shirt/top", "Trouser", "Pullover" (not sorted by name)
    names = class_names("fashion-mnist")
    ae = AutoEncoder(hidden_dims=(8,), latent_dim=2, epochs=2, verbose=0).fit(X)
    view = run_view(tmp_path, ae, X, y, names=names)
    assert view.classes == ["T-shirt/top", "Trouser", "Pullover"]  # index order
    report_colour = dict(zip(view.classes, view.class_colours, strict=True))
    assert report_colour["Trouser"] == "#ff7f0e"  # tab10's second colour, as matplotlib's C1
    html = render([view])
    assert '"class_colours":["#1f77b4","#ff7f0e","#2ca02c"]' in html

    fig = plot_maps({"map": view.coords}, y, None, names=names)
    png_colour = {view.labels[i]: c for i, c in enumerate(_point_colours(fig.axes[0]))}
    assert png_colour == report_colour
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == view.classes
    assert [to_hex(h.get_color()) for h in legend.legend_handles] == view.class_colours

    hist = plot_code_values(X[:, :1], y, None, names=names)
    assert {p.get_label(): to_hex(p.get_edgecolor(), keep_alpha=False)
            for p in hist.axes[0].patches} == report_colour
    # A page of a few points keeps the classes of all of them (a rare one missing from
    # the subset shifted every later colour, a hostile trial).
    rare = np.where(np.arange(len(y)) == 7, 1, np.where(y == 1, 2, y))  # one point of 1
    few = run_view(tmp_path, ae, X, rare, names=names, max_points=5)
    assert few.classes == ["T-shirt/top", "Trouser", "Pullover"] and len(few.labels) == 5
    assert few.class_colours == view.class_colours


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_map_titles_and_legend_leave_the_panels_clear():
    rng = np.random.default_rng(0)
    maps = {f"{name}\ntrust. 0.919, kNN acc. 0.947": rng.normal(size=(60, 2))
            for name in ("the model's 2-D map", "PCA to 2-D", "t-SNE to 2-D", "UMAP to 2-D")}
    for panels in (maps, dict(list(maps.items())[:2])):
        fig = plot_maps(panels, np.arange(60) % 2, None, title="2-D maps of the test points")
        renderer = _drawn(fig)
        title = fig._suptitle.get_window_extent(renderer)
        legend = fig.legends[0].get_window_extent(renderer)
        for ax in fig.axes:
            assert not _overlaps(title, ax.title.get_window_extent(renderer)), ax.get_title()
            assert not _overlaps(legend, ax.get_window_extent(renderer)), ax.get_title()


def test_table_reconstructions_say_what_their_titles_are_and_keep_them_clear():
    rng = np.random.default_rng(0)
    table = rng.uniform(size=(10, 30))
    labels = np.array(["malignant", "benign"] * 5)
    fig = plot_reconstructions(table, table * 0.9, None, labels=labels)
    renderer = _drawn(fig)
    title = fig._suptitle.get_window_extent(renderer)
    assert [ax.get_title() for ax in fig.axes[:2]] == ["label malignant", "label benign"]
    for ax in fig.axes:
        assert not _overlaps(title, ax.title.get_window_extent(renderer)), ax.get_title()


def test_the_loss_axis_is_per_feature_for_tables_and_per_pixel_for_images():
    history = {"epoch": [1, 2], "train_loss": [0.3, 0.2], "val_loss": [None, None]}
    assert plot_history(history).axes[0].get_ylabel() == "loss per feature"
    assert plot_history(history, per="pixel").axes[0].get_ylabel() == "loss per pixel"
