"""facehalluc: multi-scale GANs that hallucinate context and background from a face mask."""
from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="facehalluc",
    version="0.1.0",
    description="Reproduction of 'On Hallucinating Context and Background Pixels from a Face Mask "
                "using Multi-scale GANs' (Banerjee et al., WACV 2020) in TensorFlow/Keras 3",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["facehalluc", "facehalluc.*"]),
    # every data file is declared in package_data below (no include_package_data: with it, setuptools warns
    # "Package would be ignored" for the data folders apps/web/static, segment/data and store/shipped)
    # the shipped generator (docs/model_card.md): float16 weights, config, manifest with the sha256
    package_data={"facehalluc.store": ["shipped/*.npz", "shipped/*.yaml", "shipped/*.json", "shipped/*.png"],
                  # the web page of `python -m facehalluc.app` (facehalluc.apps.web; docs/app.md)
                  "facehalluc.apps.web": ["static/*.html"],
                  # MediaPipe's selfie segmentation network (Apache-2.0), read by facehalluc.nets.selfie_segmentation
                  "facehalluc.segment": ["data/*.tflite", "data/NOTICE", "data/LICENSE-mediapipe.txt"]},
    install_requires=[
        "tensorflow==2.21.*",
        "keras==3.15.*",
        "numpy>=2,<3",
        "dlib-bin>=19.24",
        "face-recognition-models>=0.3.0",
        "opencv-python-headless>=4.8",
        "scikit-image>=0.22",
        "h5py>=3.10,<3.15",
        "matplotlib>=3.8",
        "pillow>=10",
        "pyyaml>=6",
        "tqdm>=4.66",
        "scipy>=1.11",
        "tensorboard>=2.21,<2.22",
    ],
    extras_require={
        # selenium drives Debian's chromium + chromium-driver in tests/apps/test_web.py (skipped without them)
        "test": ["pytest>=8", "pytest-xdist>=3.5", "pytest-timeout>=2.2", "selenium>=4.20"],
        "gpu": ["tensorflow[and-cuda]==2.21.*"],
        # `python -m facehalluc.app` (docs/app.md) needs only the standard library (http.server)
        "app": [],
        # benchmarks/bench_vs_torch.py's PyTorch column only (CPU build); never a dependency of the package
        "bench": ["torch>=2.4"],
    },
    entry_points={
        "console_scripts": [
            "facehalluc-weights=facehalluc.weights.__main__:main",
        ],
    },
)
