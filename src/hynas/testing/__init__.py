"""Contract test suites for every kind of hynas plug-in, for hynas's own and for third-party ones
(as Optuna ships tests for samplers and storages): subclass a suite in a test file and pytest runs
it. ``hynas.testing.stores.StoreContract`` checks a store, ``hynas.testing.runners.RunnerContract``
a runner. The suites need pytest (the ``test`` extra)."""
