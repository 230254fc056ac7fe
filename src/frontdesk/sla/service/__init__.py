"""The SLA domain's behaviour, split by use case."""
