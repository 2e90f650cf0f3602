"""The CloudFormation stack engine.

- :mod:`.template`: parse YAML (short-form tags) and JSON, check the template's shape, summaries;
- :mod:`.parameters`: parameter types, constraints, pseudo parameters;
- :mod:`.intrinsics`: every intrinsic function and condition;
- :mod:`.graph`: the dependency graph;
- :mod:`.schemas`: the published resource schemas (via cfn-lint): validation, Ref/GetAtt, replacement;
- :mod:`.types`: the resource type interface and the registry services fill from ``resources.py``;
- :mod:`.deployer`: create, update, delete, rollback, with events and a journal in the database;
- :mod:`.timeouts`: TimeoutInMinutes deadlines and OnFailure, journaled with the stack;
- :mod:`.dynamic`: ``{{resolve:ssm|ssm-secure|secretsmanager:...}}`` references, read at create/update time;
- :mod:`.changesets`: diffing a stack against a new template;
- :mod:`.custom`: the custom-resource protocol (request document, presigned ResponseURL, polling);
- :mod:`.declarative`: network types recorded with generated ids.
"""
