"""Training: choose the network and how it learns, train it in the background with live curves, then use or download it."""
import streamlit as st

from engine.errors import TrainingError
from engine.modelfile import card_json, model_bytes
from engine.optim import OPTIMIZERS
from engine.preprocess import KINDS
from engine.train import TrainConfig
from ui import errors, firstrun, jobs, jobview, layout, loaders, models, nav, panels, shell, slots, urlstate
from ui.i18n import t

shell.page("train")

JOB = "train_job"
# The largest offered run must end within jobs.MAX_RUN_SECONDS (10 min). Measured 2 Dec 2026 on this 2-core server
# (load average 5-7: other work and a second training), through engine.trainproc.TrainProcess at nice 19 on real
# MNIST, 55,000 training images, adam, augmentation on, whiten: 784-256-256-256-10 in batches of 10 took 21-31 s per
# epoch (3 full epochs: 77.8 s), so 15 epochs take at most ~8 min. 784-512-512-512-10 took ~63 s per epoch (5,500
# steps of 10.5 ms, plus ~5 s of augmentation), so 30 epochs were ~32 min: too long for a shared room.
MAX_LAYERS, MAX_WIDTH, MAX_EPOCHS = 3, 256, 15
BATCHES = (10, 20, 50, 100, 200, 500, 1000)
SUBSETS = (1000, 5000, 10000, 30000, 60000)
BOOK = TrainConfig()  # 784-50-100-10 sigmoid: the book's network; Adam lr 0.001 on batches of 100
DEFAULTS = {"layers": 2, "w1": 50, "w2": 100, "w3": 100, "act": "sigmoid", "opt": BOOK.optimizer, "lr": BOOK.lr,
            "bs": BOOK.batch_size, "epochs": 5, "wd": 0.0, "pre": "unit", "aug": False, "seed": 0}

panels.intro(t("train.title"), t("train.intro"))
ds = firstrun.require_data()
n_all = ds.size("train")
subsets = tuple(n for n in SUBSETS if n < n_all) + (n_all,)


def read_float(name, default, *, lo, hi):
    """Query parameter name as a float in (lo, hi], else default."""
    try:
        v = float(urlstate.raw(name))
    except (TypeError, ValueError):
        return default
    return v if lo < v <= hi else default


urlstate.seed("tr_layers", "layers", urlstate.read_int("layers", DEFAULTS["layers"], lo=1, hi=MAX_LAYERS))
for i in (1, 2, 3):
    urlstate.seed(f"tr_w{i}", f"w{i}", urlstate.read_int(f"w{i}", DEFAULTS[f"w{i}"], lo=1, hi=MAX_WIDTH))
urlstate.seed("tr_act", "act", urlstate.read_choice("act", ("sigmoid", "relu"), DEFAULTS["act"]))
urlstate.seed("tr_opt", "opt", urlstate.read_choice("opt", tuple(OPTIMIZERS), DEFAULTS["opt"]))
urlstate.seed("tr_lr", "lr", read_float("lr", DEFAULTS["lr"], lo=0.0, hi=10.0))
urlstate.seed("tr_bs", "bs", urlstate.read_choice("bs", BATCHES, DEFAULTS["bs"]))
urlstate.seed("tr_epochs", "epochs", urlstate.read_int("epochs", DEFAULTS["epochs"], lo=1, hi=MAX_EPOCHS))
urlstate.seed("tr_wd", "wd", read_float("wd", DEFAULTS["wd"], lo=-1.0, hi=1.0))
urlstate.seed("tr_pre", "pre", urlstate.read_choice("pre", KINDS, DEFAULTS["pre"]))
urlstate.seed("tr_aug", "aug", urlstate.read_bool("aug", DEFAULTS["aug"]))
urlstate.seed("tr_seed", "seed", urlstate.read_int("seed", DEFAULTS["seed"], lo=0, hi=2**31 - 1))
urlstate.seed("tr_n", "n", urlstate.read_choice("n", subsets, n_all))

job = jobs.job_of(JOB)
running = job is not None and job.running

# --- the settings
st.subheader(t("train.settings_head"))
net, learn, data = st.columns(3, gap="large", border=True)
with net:
    st.markdown(t("train.net_head"))
    layers = st.segmented_control(t("train.layers"), (1, 2, 3), key="tr_layers", required=True, disabled=running,
                                  help=t("train.layers_help"))
    widths = [st.number_input(t("train.width", i=i), min_value=0, max_value=MAX_WIDTH, step=10, key=f"tr_w{i}", disabled=running)
              for i in range(1, layers + 1)]
    act = st.radio(t("train.activation"), ("sigmoid", "relu"), key="tr_act", horizontal=True, disabled=running,
                   help=t("train.activation_help"))
with learn:
    st.markdown(t("train.learn_head"))
    opt = st.radio(t("train.optimizer"), tuple(OPTIMIZERS), key="tr_opt", horizontal=True, disabled=running,
                   help=t("train.optimizer_help"))
    lr = st.number_input(t("train.lr"), step=0.0005, format="%g", key="tr_lr", disabled=running, help=t("train.lr_help"))
    bs = st.select_slider(t("train.batch"), BATCHES, key="tr_bs", disabled=running, help=t("train.batch_help"))
    epochs = st.slider(t("train.epochs"), 1, MAX_EPOCHS, key="tr_epochs", disabled=running)
    wd = st.number_input(t("train.wd"), step=0.0001, format="%g", key="tr_wd", disabled=running, help=t("train.wd_help"))
with data:
    st.markdown(t("train.data_head"))
    pre = st.selectbox(t("train.preprocess"), KINDS, key="tr_pre", disabled=running, format_func=lambda k: t(f"prep.kind_{k}"),
                       help=t("train.preprocess_help"))
    aug = st.toggle(t("train.augment"), key="tr_aug", disabled=running, help=t("train.augment_help"))
    n_train = st.select_slider(t("train.subset"), subsets, key="tr_n", disabled=running, format_func=lambda n: f"{n:,}",
                               help=t("train.subset_help"))
    seed = st.number_input(t("train.seed"), min_value=0, max_value=2**31 - 1, step=1, key="tr_seed", disabled=running,
                           help=t("train.seed_help"))
st.caption(t("train.limits", layers=MAX_LAYERS, width=MAX_WIDTH, epochs=MAX_EPOCHS, batch=BATCHES[0],
             slots=slots.MAX_RUNNING, queue=slots.MAX_WAITING, minutes=jobview.minutes()))

config = TrainConfig(hidden=tuple(widths), activation=act, optimizer=opt, lr=float(lr), epochs=int(epochs), batch_size=int(bs),
                     weight_decay=float(wd), preprocess=pre, augment=bool(aug), seed=int(seed),
                     val_size=jobs.val_size(n_train))
problem = None
try:
    config.check(n_train)
except TrainingError as e:
    problem = errors.message(e)
name = f"{'-'.join(map(str, widths))}-{act}-{pre}-e{epochs}-s{seed}"


def start():
    """Train button: start the background run with the settings on screen."""
    jobs.start(JOB, loaders.dataset(), [name], config, n_train=n_train)


if problem:
    st.error(problem)
st.button(t("train.start"), icon="🏋️", type="primary", disabled=running or bool(problem), on_click=start, key="tr_start",
          help=t("train.start_limit_help", minutes=jobview.minutes()))
urlstate.write(layers=layers, w1=widths[0], w2=widths[1] if layers > 1 else None, w3=widths[2] if layers > 2 else None,
               act=act, opt=opt, lr=f"{lr:g}", bs=bs, epochs=epochs, wd=f"{wd:g}", pre=pre, aug=int(aug), seed=seed, n=n_train,
               defaults={**DEFAULTS, "lr": f"{DEFAULTS['lr']:g}", "wd": f"{DEFAULTS['wd']:g}", "aug": 0, "n": n_all})


# --- the run: two fragments poll the background job: the progress every 0.5 s (4 s while waiting), the curves every 2 s
pace = jobview.poll_every(job)


@st.fragment(run_every=pace)
def progress():
    job = jobs.job_of(JOB)
    if job is None:
        st.info(t("train.idle"))
        return
    if not job.running and not job.claimed:  # finished since the last full run: register once, then rerun the whole app
        if job.models:  # so the sidebar lists the new model and the settings unlock
            model = job.models[job.names[0]]
            model.card["title"] = t("train.model_title", sizes=" → ".join(map(str, model.sizes)), act=model.activation,
                                    pre=job.config.preprocess, opt=job.config.optimizer, lr=f"{job.config.lr:g}",
                                    epochs=len(model.card.get("history", [])))
            job.model_id, _ = models.add_session_model(job.names[0], model)
        job.claimed = True
        st.rerun()
    if jobview.poll_every(job) != pace:  # it left the line for a slot: a full run sets the quicker pace of both fragments
        st.rerun()
    snap = job.snapshot()
    state, latest = snap["state"], snap["latest"]
    if state == "failed":
        st.error(errors.training(snap["error"]), icon="⚠️")
    elif state == "refused":
        st.warning(jobview.busy_message(job), icon="🚦")
    elif state == "stopped" and not job.models:
        st.warning(jobview.stopped_empty(job), icon="⏹️")
    if not job.running:
        return
    if state == "waiting":
        st.info(t("train.waiting", busy=jobs.busy(), slots=slots.MAX_RUNNING, s=f"{snap['elapsed']:.0f}"))
    elif latest is None:
        st.progress(0.0, text=t("train.preparing", s=f"{snap['elapsed']:.1f}"))
    else:
        st.progress(snap["fraction"], text=t("train.progress", epoch=latest["epoch"], epochs=latest["epochs"],
                                              step=latest["step"] - (latest["epoch"] - 1) * latest["steps"], steps=latest["steps"],
                                              s=f"{snap['elapsed']:.0f}"))
    speed = jobview.speed(snap)
    numbers = layout.line(key="tr_numbers")  # two to a line on a phone, not four stacked
    numbers.metric(t("train.m_epoch_time"), "–" if speed["epoch_seconds"] is None else f"{speed['epoch_seconds']:.1f} s",
                   width="content")
    numbers.metric(t("train.m_rate"), "–" if speed["images_per_s"] is None else f"{speed['images_per_s']:,.0f}", width="content")
    numbers.metric(t("train.m_eta"), "–" if speed["eta"] is None else f"{speed['eta']:.0f} s", width="content")
    numbers.button(t("train.stop"), icon="⏹️", on_click=jobs.stop, args=(JOB,), key="tr_stop", help=t("train.stop_help"))


@st.fragment(run_every=jobview.chart_every(job))
def curves():
    job = jobs.job_of(JOB)
    if job is None:
        return
    jobview.show_live_curves(job, charts=[("loss", t("train.loss_read"), "training-loss", "tr_loss_chart"),
                                              ("acc", t("train.acc_read"), "training-accuracy", "tr_acc_chart")])


def use(mid):
    st.session_state[models.PICK_KEY] = mid


def result(job):
    """The finished model: its numbers, where it went, the downloads."""
    model, mid = job.models[job.names[0]], job.model_id
    card = model.card
    words = dict(val=f"{card['val_accuracy']:.2%}", best=card["best_epoch"], test=f"{card['test_accuracy']:.2%}", id=mid,
                 s=f"{card['seconds']:.1f}" if card["seconds"] >= 1 else f"{card['seconds']:.2f}")
    if job.state != "stopped":
        st.success(t("train.done", **words))
    elif job.reason == "time":
        st.warning(t("train.time_limit", minutes=jobview.minutes(), **words))
    else:
        st.warning(t("train.stopped", **words))
    in_list = mid in models.catalog()[0]
    c = layout.line(key="tr_result")
    c.button(t("train.use"), icon="👉", on_click=use, args=(mid,), key="tr_use", disabled=not in_list, help=t("train.use_help"))
    c.download_button(t("train.download_npz"), model_bytes(model), file_name=f"{job.names[0]}.npz", mime="application/zip",
                         on_click="ignore", icon="⬇️", key="tr_dl_npz", help=t("train.download_help"))
    c.download_button(t("train.download_card"), card_json(model), file_name=f"{job.names[0]}.json", mime="application/json",
                         on_click="ignore", icon="📄", key="tr_dl_card")
    with c:
        nav.link("evaluate", label=t("train.evaluate"), icon="📏", query={"model": mid})
    if not in_list:
        st.caption(t("train.evicted", n=models.MAX_PER_KIND))
    panels.model_card(mid, model)


progress()
curves()
if job is not None and job.claimed and job.models:
    result(job)

shell.end()
