"""AWS CodePipeline: pipelines, executions run in-process (see :mod:`.engine`), action providers
(see :mod:`.actions`)."""
