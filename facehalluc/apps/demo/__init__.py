"""``python -m facehalluc.demo``: the whole pipeline on a fresh machine, in seconds, with no download.

Default (the shipped generator, ``docs/model_card.md``): raw face photos — the ones that ship with
installed packages (scikit-image's ``astronaut.png``, matplotlib's ``grace_hopper.jpg``), or
``--data DIR`` (``--limit N``) — are detected, aligned and masked (dlib, 68 landmarks, convex hull), the
shipped cascade hallucinates context and background, the result is pasted back into each photo, and
``OUT/contact_sheet.png`` (photo | aligned | masked input | block_8 … block_64 | out_128 | paste-back),
``OUT/report.md`` and ``OUT/report.json`` are written.  ``--model RUN_DIR|SAVEDMODEL`` uses another
generator; ``--export`` also exports it as a SavedModel, reloads it with TensorFlow alone and compares.

``--train`` (minutes) trains a model first, as the demo did before a generator shipped:

1. **Data.** Without ``--data``: the bundled photos, each augmented into many photos (random similarity
   warp, mirroring, colour jitter) and run through the real preprocessor.  Only two photos ship, so the
   held-out faces are *unseen augmentations* of the same two people, not unseen identities.  With
   ``--data DIR`` (e.g. ``../shared/data/lfw --limit 400``): ``facehalluc.data.prepare`` on the folder,
   with an identity-disjoint validation split (unseen people).
2. **Train** the ``tiny`` preset (widths / 16) for ``--steps`` steps with the package's one training
   driver, :func:`facehalluc.train.run.train` (``--eager``: its ``run_eagerly`` option).  Loss terms whose
   frozen networks have no converted weights are switched off (``weights.on_missing=disable``), never
   trained against random networks; ``--set`` overrides anything.
3. **Hallucinate** the held-out faces with the saved run directory (``load_generator``).
4. **Export** a SavedModel, reload it with ``tf.saved_model.load`` and compare with the Keras model.
5. Write ``OUT/contact_sheet.png``, ``OUT/report.md`` and ``OUT/report.json``.
"""
from .data import augment_photo, build_bundled_dataset, build_folder_dataset, bundled_face_photos  # noqa: F401
from .model_demo import run_model_demo  # noqa: F401
from .training import demo_config, export_and_check, run_training_demo, train  # noqa: F401
