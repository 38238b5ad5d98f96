"""TF1 `tf.train.AdamOptimizer` with `tf.train.exponential_decay(staircase=True)`.

Original lines 248-250. Written out rather than taken from Keras so that the
numerics are TF1's on every TensorFlow/Keras version (epsilon 1e-8 where Keras
defaults to 1e-7; the epsilon-hat update; `1 - beta` computed in float32, as TF1's
`ApplyAdam` kernel does: 0.100000024 and 0.0009999871, not the float64 0.1 and
0.001 rounded to float32), and so that the state has the
original's checkpoint layout: NAME/Adam, NAME/Adam_1, beta1_power, beta2_power
and the global step 'Variable'.
"""
import tensorflow as tf


class TF1Adam(tf.Module):
    """Adam on a fixed variable list.

    lr_step = lr * decay ** floor(step / decay_step)
    m = m + (g - m)(1 - b1); v = v + (g^2 - v)(1 - b2)
    var -= lr_step * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    """

    def __init__(self, named_variables, lr, decay, decay_step,
                 beta1=0.9, beta2=0.999, epsilon=1e-8):
        """named_variables: [(TF1 name, variable)] of the trainable variables."""
        super().__init__(name="tf1_adam")
        if decay_step < 1:
            raise ValueError(f"decay_step must be >= 1, got {decay_step}")
        self.lr, self.decay, self.decay_step = float(lr), float(decay), int(decay_step)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        one = tf.constant(1.0, tf.float32)
        # float32 as ApplyAdam's T(1) - beta1(): 0.100000024, not float64's 0.1
        self.one_minus_beta1 = one - tf.constant(beta1, tf.float32)
        self.one_minus_beta2 = one - tf.constant(beta2, tf.float32)
        self.names = [name for name, _ in named_variables]
        self.targets = [var for _, var in named_variables]
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="Variable")
        self.beta1_power = tf.Variable(beta1, dtype=tf.float32, trainable=False, name="beta1_power")
        self.beta2_power = tf.Variable(beta2, dtype=tf.float32, trainable=False, name="beta2_power")
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False, name=f"{n}/Adam")
                  for n, v in named_variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False, name=f"{n}/Adam_1")
                  for n, v in named_variables]

    def learning_rate(self, step=None):
        """Staircase exponential decay at `step` (default: the current global step)."""
        step = self.step if step is None else step
        exponent = tf.floor(tf.cast(step, tf.float32) / float(self.decay_step))
        return self.lr * tf.pow(self.decay, exponent)

    def apply_gradients(self, grads):
        """One update; `grads` aligned with the variable list (None: variable skipped)."""
        lr_t = (self.learning_rate() * tf.sqrt(1.0 - self.beta2_power)
                / (1.0 - self.beta1_power))
        for g, var, m, v in zip(grads, self.targets, self.m, self.v):
            if g is None:
                continue
            g = tf.convert_to_tensor(g)
            m.assign_add((g - m) * self.one_minus_beta1)
            v.assign_add((tf.square(g) - v) * self.one_minus_beta2)
            var.assign_sub(m * lr_t / (tf.sqrt(v) + self.epsilon))  # the kernel's (m * alpha) / ...
        self.beta1_power.assign(self.beta1_power * self.beta1)
        self.beta2_power.assign(self.beta2_power * self.beta2)
        self.step.assign_add(1)
