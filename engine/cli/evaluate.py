"""`evaluate`: the seed's accuracy line for a weights file, then images, time and images/s."""
import time

from ..data import load_mnist
from ..modelfile import load_model


def add_parser(sub):
    p = sub.add_parser("evaluate", help="print the test accuracy of a weights file (.npz or the book's .pkl)")
    p.add_argument("--weights", required=True, help="model .npz or the book's sample_weight.pkl")
    p.add_argument("--batch-size", type=int, default=100, help="images per forward pass (default 100, as the seed)")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.set_defaults(run=run)


def run(args):
    if args.batch_size < 1:
        raise SystemExit("error: --batch-size must be at least 1.")
    model = load_model(args.weights)
    _, (x, t) = load_mnist(normalize=False, data_dir=args.data_dir, download=False)
    start = time.perf_counter()
    y = model.predict(x, batch_size=args.batch_size)
    seconds = time.perf_counter() - start
    print("Accuracy:" + str(float((y == t).sum()) / len(x)))
    print(f"{len(x):,} images in {seconds * 1000:.1f} ms at batch size {args.batch_size}: {len(x) / seconds:,.0f} images/s")
