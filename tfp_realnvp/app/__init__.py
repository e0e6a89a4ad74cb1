"""The application wing: training runs, export, loading, figures, latent tools.

It builds on the library (`tfp_realnvp`) and nothing in the library imports
it; the picture of the layers is in docs/layout.md, and
`tests/layering_test.py` keeps both true. Inside the wing:

  flags -> quiet (framework log noise)
  run -> callbacks, budget, config
  loading -> export; latents, figures, scoring

Nothing but bin/ and `app.flags` reads absl flags.
"""
