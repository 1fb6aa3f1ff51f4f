"""Every setting of a training run, with its defaults and the check that it can train: the recipe a model card stores."""
import math
from dataclasses import dataclass

from .errors import TrainingError
from .optim import OPTIMIZERS, SCHEDULES
from .preprocess import KINDS


@dataclass
class TrainConfig:
    """Every setting of a run; stored in the model card, so a run can be repeated exactly."""
    hidden: tuple = (50, 100)  # widths of the hidden layers
    activation: str = "sigmoid"  # 'sigmoid' (Xavier init) or 'relu' (He init)
    optimizer: str = "adam"  # 'sgd', 'momentum' or 'adam'
    lr: float = 0.001  # initial learning rate
    schedule: str = "constant"  # 'constant', 'cosine' (to 1% of lr) or 'step' (/10 at 50% and 75%)
    epochs: int = 20  # passes over the training split
    batch_size: int = 100  # images per gradient step
    weight_decay: float = 0.0  # L2 penalty on weights (not biases): dW += weight_decay * W
    preprocess: str = "unit"  # raw / unit / center / standardize / whiten, fitted on the training split only
    per_pixel: bool = True  # standardize with per-pixel (True) or global statistics
    eps: float = 0.1  # whitening epsilon, in (pixels / 255)^2
    augment: bool = False  # random shifts and rotations of the training images, fresh every epoch
    shift: int = 1  # augmentation: largest shift in pixels (±2 measured worse than ±1 for this small net)
    degrees: int = 10  # augmentation: largest rotation in degrees
    distort: bool = False  # strong augmentation (engine.distort) instead: continuous rotation and shift, plus the four below
    shear: float = 15.0  # distort: largest slant in degrees
    scale: float = 0.15  # distort: largest size change (1 ± scale), and half of it in aspect
    pen: float = 0.5  # distort: share of images whose pen is made thicker or thinner
    elastic: float = 0.0  # distort: largest elastic displacement in px (0 = none)
    patience: int = 0  # stop after this many epochs without a better validation accuracy; 0 = run every epoch
    val_size: int = 5000  # training images held out for validation and model selection
    seed: int = 0  # one seed fixes the split, the initial weights, the batch order and the augmentation

    def check(self, n):
        """Raise TrainingError (one sentence) for settings that cannot train on n images."""
        rules = [
            (len(self.hidden) > 0 and all(int(h) == h and h >= 1 for h in self.hidden),
             f"Every hidden layer needs at least 1 unit; got widths {list(self.hidden)}."),
            (self.activation in ("sigmoid", "relu"), f"Activation {self.activation!r} is unknown: use 'sigmoid' or 'relu'."),
            (self.optimizer in OPTIMIZERS, f"Optimizer {self.optimizer!r} is unknown: use one of {', '.join(OPTIMIZERS)}."),
            (self.lr > 0 and math.isfinite(self.lr), f"The learning rate must be a positive number; got {self.lr}."),
            (self.schedule in SCHEDULES, f"Schedule {self.schedule!r} is unknown: use one of {', '.join(SCHEDULES)}."),
            (int(self.epochs) == self.epochs and self.epochs >= 1, f"Training needs at least 1 epoch; got {self.epochs}."),
            (int(self.batch_size) == self.batch_size and self.batch_size >= 1,
             f"The batch size must be at least 1; got {self.batch_size}."),
            (self.weight_decay >= 0, f"Weight decay must be 0 or more; got {self.weight_decay}."),
            (self.preprocess in KINDS, f"Preprocessing {self.preprocess!r} is unknown: use one of {', '.join(KINDS)}."),
            (self.eps > 0, f"The whitening epsilon must be positive; got {self.eps}."),
            (0 <= self.shift <= 4 and 0 <= self.degrees <= 45, f"Augmentation takes shifts of 0-4 px and rotations of 0-45 degrees; "
             f"got {self.shift} px and {self.degrees} degrees."),
            (not (self.augment and self.distort), "Choose one augmentation: --augment (light) or --distort (strong), not both."),
            (0 <= self.shear <= 45 and 0 <= self.scale <= 0.5 and 0 <= self.pen <= 1 and 0 <= self.elastic <= 4,
             f"Distortion takes shears of 0-45 degrees, scales of 0-0.5, a pen share of 0-1 and elastic warps of 0-4 px; "
             f"got {self.shear}, {self.scale}, {self.pen} and {self.elastic}."),
            (self.patience >= 0, f"Patience must be 0 (off) or more epochs; got {self.patience}."),
            (1 <= self.val_size < n, f"The validation split must hold 1 to {n - 1:,} of the {n:,} training images; got {self.val_size:,}."),
        ]
        for ok, message in rules:
            if not ok:
                raise TrainingError(message)
