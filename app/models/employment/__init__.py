"""Employment and training: jobs, intentions, training courses and the labour-force figures."""
