"""The user's function: read one CSV with pandas, save a matplotlib PNG of
its numeric columns over `t`. The same function for every contestant."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def plot_file(input, out):
    frame = pd.read_csv(input)
    numeric = frame.select_dtypes("number").drop(columns=["t"])
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    for name in numeric.columns:
        ax.plot(frame["t"], numeric[name], label=name, linewidth=0.8)
    ax.set_title(input.rsplit("/", 1)[-1])
    ax.legend(loc="upper right")
    fig.savefig(out)
    plt.close(fig)
