"""Problems: activations, data models, schedules and initial laws."""
