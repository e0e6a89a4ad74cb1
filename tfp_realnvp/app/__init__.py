"""The application wing: training runs, export, loading, figures, latent tools.

The package has two wings, and imports only point down:

  application  tfp_realnvp/app/   flags -> run -> callbacks, config
                                  flags -> quiet (framework log noise)
                                  loading -> export; latents, figures
  ----------------------------------------------------------------------
  library      tfp_realnvp/       training, data
                                  model (the flows and their one interface)
                                  bijectors/
                                  networks
                                  batch_statistics
                                  compat (every private TF/TFP/Keras API)

A module imports only modules on its own row to its right or on rows below
it; nothing in the library imports `tfp_realnvp.app`, and nothing but bin/ and
`app.flags` reads absl flags. `tests/layering_test.py` checks the rule.
"""
