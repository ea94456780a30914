"""What feeds the engine: the stepper shared by replay and backtest, replay, backtest, live, and the services a running bot needs."""
