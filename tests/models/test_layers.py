"""SafeLeakyReLU's two backward passes (TensorFlow's gradient of Maximum/Mul, and the one-select custom gradient
on the output) give the same values and gradients, checked against the derivative written by hand."""
import numpy as np
import pytest
import tensorflow as tf

from facehalluc.models.layers import SafeLeakyReLU


@pytest.mark.parametrize("slope", [0.1, 0.2, 1.0, 0.0])
@pytest.mark.parametrize("output_gradient", [False, True])
@pytest.mark.parametrize("graph", [False, True])
def test_values_and_gradients_by_hand(monkeypatch, slope, output_gradient, graph):
    monkeypatch.setattr(SafeLeakyReLU, "output_gradient", output_gradient)
    layer = SafeLeakyReLU(slope)
    # negatives, zero (both signs), positives, and a value whose product with the slope is still a normal float
    x = tf.constant([-3.0, -1e-3, -0.0, 0.0, 1e-3, 2.5], tf.float32)
    up = tf.constant([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], tf.float32)

    def f(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = layer(t)
        return y, tape.gradient(y, t, output_gradients=up)

    y, g = (tf.function(f) if graph else f)(x)
    xn = x.numpy()
    # by hand: y = x for x >= 0, slope * x otherwise; dy/dx = 1 for x >= 0 (x = 0 included, as max(x, s x) picks
    # its first argument on ties), slope otherwise; all exact in float32 (one rounding of slope * x at most)
    want_y = np.where(xn >= 0, xn, np.float32(slope) * xn)
    want_g = up.numpy() * np.where(xn >= 0, np.float32(1.0), np.float32(slope))
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_array_equal(g.numpy(), want_g)
