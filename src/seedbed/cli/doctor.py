"""``seedbed doctor``: walk the AWS troubleshooting list for S3-template projects and say what to fix.

Checks, in the order a failure shows up for a user: the domain's templates-location tag, the
bucket and its CORS rules, each template's visibility tag and readability, the template itself
(valid CloudFormation, the two SageMaker parameters, resource types Seedbed can create), and the
permissions of the caller and of the launch role (through IAM SimulatePrincipalPolicy).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from seedbed.cli.templates import Clients, connect, cors_allows_studio, error_text, pick_domain
from seedbed.services.sagemaker import catalog

console = Console()
Finding = tuple[str, str]  # (level: "error" | "warning" | "ok", text)

LAUNCH_ROLE = "service-role/AmazonSageMakerProjectsLaunchRole"
STACK_ACTIONS = ["cloudformation:CreateStack", "cloudformation:DescribeStacks", "cloudformation:CreateChangeSet",
                 "cloudformation:ExecuteChangeSet", "cloudformation:DeleteStack", "cloudformation:DescribeStackEvents"]


def _code(exc: Exception) -> str:
    return (getattr(exc, "response", None) or {}).get("Error", {}).get("Code", "")


def template_findings(clients: Clients | None, body: str) -> list[Finding]:
    """What is wrong with a template body as a project template."""
    from seedbed.cloudformation import types

    out: list[Finding] = []
    try:
        info = catalog.describe_template(body)
    except Exception as exc:  # noqa: BLE001 - the template's fault, reported
        return [("error", f"not valid CloudFormation: {getattr(exc, 'message', exc)}")]
    for name in info["MissingSageMakerParameters"]:
        out.append(("error", f"the template does not declare the parameter {name}: SageMaker passes it to every project stack, so add `{name}: {{Type: String}}` under Parameters"))
    unknown = [t for t in info["ResourceTypes"] if not t.startswith("Custom::") and not types.creatable(t)]
    if unknown:
        out.append(("error", f"Seedbed cannot create these resource types yet: {', '.join(unknown)}"))
    if clients is not None:
        try:
            clients.client("cloudformation").validate_template(TemplateBody=body)
        except Exception as exc:  # noqa: BLE001
            if not unknown:
                out.append(("error", f"CloudFormation refuses the template: {error_text(exc)}"))
    return out


def _iam_arn(clients: Clients, principal_arn: str) -> str | None:
    """The user or role ARN SimulatePrincipalPolicy takes; None for root (allowed everything)."""
    if principal_arn.endswith(":root"):
        return None
    if ":assumed-role/" in principal_arn:
        role_name = principal_arn.split(":assumed-role/", 1)[1].split("/")[0]
        return clients.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    return principal_arn


def _simulate(clients: Clients, who: str, actions: list[str], resource: str, context: dict[str, str] | None = None) -> list[str]:
    """The actions ``who`` may not perform on ``resource``."""
    params: dict[str, Any] = {"PolicySourceArn": who, "ActionNames": actions, "ResourceArns": [resource]}
    if context:
        params["ContextEntries"] = [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in context.items()]
    results = clients.client("iam").simulate_principal_policy(**params)["EvaluationResults"]
    return [r["EvalActionName"] for r in results if r["EvalDecision"] != "allowed"]


class Doctor:
    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.findings: list[Finding] = []

    def say(self, level: str, text: str) -> None:
        self.findings.append((level, text))

    def run(self, domain: str | None, template: str | None, launch_role: str | None) -> list[Finding]:
        sm, s3 = self.clients.client("sagemaker"), self.clients.client("s3")
        identity = self.clients.client("sts").get_caller_identity()
        account, caller = identity["Account"], identity["Arn"]
        self.say("ok", f"caller {caller}")
        try:
            domain_id = pick_domain(self.clients, domain)
            arn = sm.describe_domain(DomainId=domain_id)["DomainArn"]
            tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn).get("Tags") or []}
        except Exception as exc:  # noqa: BLE001
            self.say("error", f"cannot read the domain: {error_text(exc)}")
            return self.findings
        location = tags.get(catalog.LOCATION_TAG)
        try:
            bucket, prefix = catalog.parse_location(location, domain_id)
            self.say("ok", f"domain {domain_id}: {catalog.LOCATION_TAG}={location}")
        except catalog.LocationError as exc:
            fix = f"aws sagemaker add-tags --resource-arn {arn} --tags Key={catalog.LOCATION_TAG},Value=s3://BUCKET/PREFIX/"
            self.say("error", f"{exc} Fix: {fix}")
            return self.findings
        self._bucket(s3, bucket)
        keys = self._keys(s3, bucket, prefix, template)
        principal = None
        try:
            principal = _iam_arn(self.clients, caller)
        except Exception as exc:  # noqa: BLE001
            self.say("warning", f"cannot resolve the caller's IAM entity: {error_text(exc)}")
        role_arn = self._launch_role(account, launch_role)
        for key in keys:
            self._template(s3, bucket, key, principal, role_arn)
        if principal is not None:
            self._caller_permissions(principal, bucket, role_arn, account)
        return self.findings

    def _bucket(self, s3: Any, bucket: str) -> None:
        try:
            rules = s3.get_bucket_cors(Bucket=bucket).get("CORSRules") or []
        except Exception as exc:  # noqa: BLE001
            if _code(exc) == "NoSuchCORSConfiguration":
                rules = []
            else:
                self.say("error", f"cannot read the CORS rules of {bucket}: {error_text(exc)}")
                return
        if cors_allows_studio(rules) or cors_allows_studio(rules, self.clients.endpoint.rstrip("/")):
            self.say("ok", f"bucket {bucket}: CORS allows the Studio origin")
        else:
            self.say("error", f"bucket {bucket}: no CORS rule lets Studio (https://*.sagemaker.aws or {self.clients.endpoint}) GET the templates. "
                              f"Fix: aws s3api put-bucket-cors --bucket {bucket} --cors-configuration file://cors.json (the documented rules), "
                              "or `seedbed templates publish` which sets them")

    def _keys(self, s3: Any, bucket: str, prefix: str, template: str | None) -> list[str]:
        if template:
            return [template if template.startswith(prefix) or "/" in template else prefix + template]
        try:
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                    for o in page.get("Contents") or [] if not o["Key"].endswith("/")]
        except Exception as exc:  # noqa: BLE001
            hint = f" (the caller lacks s3:ListBucket on arn:aws:s3:::{bucket})" if "AccessDenied" in _code(exc) else ""
            self.say("error", f"cannot list s3://{bucket}/{prefix}: {error_text(exc)}{hint}")
            return []
        if not keys:
            self.say("error", f"no objects under s3://{bucket}/{prefix}: upload templates there (seedbed templates publish)")
        return keys

    def _template(self, s3: Any, bucket: str, key: str, principal: str | None, role_arn: str | None) -> None:
        where = f"s3://{bucket}/{key}"
        try:
            tag_set = s3.get_object_tagging(Bucket=bucket, Key=key).get("TagSet") or []
        except Exception as exc:  # noqa: BLE001
            code = _code(exc)
            hint = " (the caller lacks s3:GetObjectTagging)" if "AccessDenied" in code else ""
            self.say("error", f"{where}: cannot read its tags: {error_text(exc)}{hint}")
            return
        if not catalog.visible(tag_set):
            self.say("error", f"{where}: missing the tag {catalog.VISIBILITY_TAG}=true, so Studio does not list it. "
                              f"Fix: aws s3api put-object-tagging --bucket {bucket} --key {key} "
                              f"--tagging 'TagSet=[{{Key={catalog.VISIBILITY_TAG},Value=true}}]'")
        try:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
        except Exception as exc:  # noqa: BLE001
            hint = " (the caller lacks s3:GetObject)" if "AccessDenied" in _code(exc) else ""
            self.say("error", f"{where}: cannot read it: {error_text(exc)}{hint}")
            return
        problems = template_findings(self.clients, body)
        for level, text in problems:
            self.say(level, f"{where}: {text}")
        if not problems and catalog.visible(tag_set):
            self.say("ok", f"{where}: a valid, visible project template")
        if role_arn:
            self._check(role_arn, "the launch role", ["s3:GetObject"], f"arn:aws:s3:::{bucket}/{key}")

    def _launch_role(self, account: str, launch_role: str | None) -> str | None:
        iam = self.clients.client("iam")
        name = (launch_role or LAUNCH_ROLE).rsplit("/", 1)[-1] if not (launch_role or "").startswith("arn:") else launch_role.rsplit("/", 1)[-1]
        try:
            role = iam.get_role(RoleName=name)["Role"]
        except Exception as exc:  # noqa: BLE001
            level = "error" if launch_role else "warning"
            self.say(level, f"launch role {name}: {error_text(exc)} (deploy the roles template, or name one with --launch-role)")
            return None
        trust = role.get("AssumeRolePolicyDocument")
        text = json.dumps(trust) if not isinstance(trust, str) else trust
        if "cloudformation.amazonaws.com" not in text:
            self.say("error", f"launch role {role['Arn']}: its trust policy does not let cloudformation.amazonaws.com assume it")
        else:
            self.say("ok", f"launch role {role['Arn']}")
        self._check(role["Arn"], "the launch role", STACK_ACTIONS, "*")
        return role["Arn"]

    def _caller_permissions(self, principal: str, bucket: str, role_arn: str | None, account: str) -> None:
        self._check(principal, "the caller", ["s3:ListBucket"], f"arn:aws:s3:::{bucket}")
        self._check(principal, "the caller", ["s3:GetObject", "s3:GetObjectTagging"], f"arn:aws:s3:::{bucket}/*")
        self._check(principal, "the caller", ["sagemaker:CreateProject", "sagemaker:DescribeProject"], "*")
        self._check(principal, "the caller", STACK_ACTIONS[:3], "*")
        if role_arn:
            self._check(principal, "the caller", ["iam:PassRole"], role_arn, {"iam:PassedToService": "cloudformation.amazonaws.com"})

    def _check(self, who: str, label: str, actions: list[str], resource: str, context: dict[str, str] | None = None) -> None:
        try:
            denied = _simulate(self.clients, who, actions, resource, context)
        except Exception as exc:  # noqa: BLE001
            self.say("warning", f"cannot simulate the policies of {label} ({who}): {error_text(exc)}")
            return
        if denied:
            self.say("error", f"{label} ({who}) lacks {', '.join(denied)} on {resource}: add them to its policy")


def doctor(
    domain: Annotated[Optional[str], typer.Option(help="Domain id (d-...); default: the only domain.")] = None,
    template: Annotated[Optional[str], typer.Option(help="Check only this template key (under the domain's prefix).")] = None,
    launch_role: Annotated[Optional[str], typer.Option(help="Launch role name or ARN (default: service-role/AmazonSageMakerProjectsLaunchRole).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Data dir for credentials when the shell has none.")] = None,
) -> None:
    """Check a domain's S3-template setup against the AWS troubleshooting list and say what to fix."""
    clients = connect(data_dir)
    try:
        findings = Doctor(clients).run(domain, template, launch_role)
    except Exception as exc:  # noqa: BLE001
        console.print(f"[red]error[/] {error_text(exc)}")
        raise typer.Exit(1) from None
    colour = {"ok": "green", "warning": "yellow", "error": "red"}
    for level, text in findings:
        console.print(f"[{colour[level]}]{level:7}[/] {text}", soft_wrap=True)
    errors = sum(1 for level, _ in findings if level == "error")
    console.print(f"{errors} problem(s) found" if errors else "[green]no problems found[/]")
    if errors:
        raise typer.Exit(1)
