"""SelfGNN (SIGIR 2024) ported to TensorFlow 2: params, data, model, sampler, metrics, trainer."""
