"""Hallucinated data augmentation (paper §4.4, Table 2): a face dataset in, the same dataset with
hallucinated context and background out.

    python -m facehalluc.augment --model runs/paper --src CASIA-WebFace/ --out CASIA-hallucinated/ --workers 2
    python -m facehalluc.augment --model runs/paper --src CASIA-WebFace/ --out CASIA-hallucinated/ --resume
    python -m facehalluc.augment --model runs/sampling --src LFW/ --out LFW-x3/ --per-face 3 --seed 0

§4.4: *"We align, mask and resize all the face images from CW using the same pre-processing steps as
our training data. These masked images are then fed to our trained cascaded model to hallucinate
synthetic context and background pixels. [...] we label the hallucinated image as the same class as
the original input"*.

Input: one folder per identity (``Person/photo.jpg``, as CASIA-WebFace and LFW are laid out; files
directly in ``--src`` are their own identity).  Every photo goes through the package's preprocessing
(detect, align, mask: :func:`facehalluc.infer.preprocessing.align_photo`, the model's own
``preprocess`` settings) and the generator (:class:`facehalluc.infer.Hallucinator`, run with the
landmark-hull mask); the 128x128 output ``out_128`` is written as ``OUT/Person/photo.png`` — the
identity is the folder name, as in the input.  Photos without a detectable face are skipped.

``--per-face K`` (a generator with style noise, e.g. the ``sampling`` preset; issue 23) writes K different
hallucinations of every photo, ``OUT/Person/photo_sample0.png`` ... ``photo_sample{K-1}.png``; sample j of a
photo uses the noise ``numpy.random.default_rng((seed, j, crc32(source path)))``, so a rerun with the same
``--seed`` writes the same files.  A deterministic generator refuses K > 1 (its copies would be identical).

Outputs in ``--out``: the images, ``manifest.csv`` (``source,output,identity,status`` for every
output, one row per sample with ``--per-face``; status ``ok`` or the skip code), ``skipped.csv`` (``source,identity,reason_code,reason``) and
``augment_report.json``.

Robustness: every image is written to a temporary name and renamed (a file at its final name is
complete); each finished photo is appended to ``OUT/.augment_journal.jsonl``; ``--resume`` skips
every photo whose output exists or that the journal lists as skipped, removes temporary files left
by a killed run, and refuses a folder made from another ``--src`` or ``--model``.  The manifest and
report are written (atomically) when the run finishes.

Exit status: 0 when at least one image is hallucinated (or all were already done), 1 when none
could be, 2 on usage errors (bad model, source folder, existing output without ``--resume``).
"""
from .batch import AugmentReport, augment  # noqa: F401
from .jobs import (JOURNAL, MANIFEST, MANIFEST_COLUMNS, REPORT, SKIPPED, STATE, AugmentError,  # noqa: F401
                   AugmentInterrupted, Job, job_outputs, model_path, plan, read_journal)
