"""Throttling at AWS's rates: a token bucket per account, region and API
family, as AWS meters its control planes (README.md, "Throttling").

A family is "SERVICE:describe" (Describe*, List*, Get*, Head*, Validate*,
Estimate*, Batch{Get,Check}*) or "SERVICE:mutate" (everything else).  A
bucket holds up to `burst` tokens and gains `rate` a second; a call takes
one or is refused with the protocol's own throttling error (faults.THROTTLE)
and counted as throttled, never as a call.  A family without a rate is not
metered.

The defaults are the figures the fake assumes for AWS (documented in
README.md); the control API (POST /_fake/throttle) and --throttle change
them, e.g. to make a test meet strict throttling.
"""

import time

# family -> (rate a second, burst): approximations, not AWS's published
# figures.  CloudFormation publishes no rate; its describe calls are
# throttled at a few a second per account in practice.  ECS and ECR meter
# per action group at tens a second.  S3, SQS and SES take thousands a
# second: not metered.
DEFAULTS = {
    "cloudformation:describe": (5.0, 30),
    "cloudformation:mutate": (5.0, 30),
    "ecs:describe": (20.0, 50),
    "ecs:mutate": (10.0, 50),
    "ecr:describe": (20.0, 100),
    "ecr:mutate": (20.0, 100),
    "sts:describe": (100.0, 200),
    "sts:mutate": (100.0, 200),
}

DESCRIBE_PREFIXES = ("Describe", "List", "Get", "Head", "Validate", "Estimate",
                     "BatchGet", "BatchCheck")


def family(service, op):
    return "%s:%s" % (service, "describe" if (op or "").startswith(
        DESCRIBE_PREFIXES) else "mutate")


def parse_option(text):
    """FAMILY=RATE[/BURST] (RATE "off": not metered) -> (family, value)."""
    fam, eq, val = text.partition("=")
    if not eq or ":" not in fam:
        raise ValueError("--throttle FAMILY=RATE[/BURST], e.g. "
                         "cloudformation:describe=2/4")
    if val == "off":
        return fam, None
    rate, _, burst = val.partition("/")
    rate = float(rate)
    return fam, {"rate": rate, "burst": float(burst) if burst else max(1.0, rate)}


def default_rates():
    return {f: {"rate": r, "burst": float(b)} for f, (r, b) in DEFAULTS.items()}


class Buckets(object):
    """All buckets; used under the state's lock."""

    def __init__(self, rates, enabled=True):
        self.rates = dict(rates)
        self.enabled = enabled
        self.buckets = {}         # (account, region, family) -> [tokens, t]

    def configure(self, rates=None, enabled=None):
        if rates is not None:
            for fam, v in rates.items():
                if v is None:
                    self.rates[fam] = None
                    continue
                rate, burst = float(v["rate"]), float(v.get("burst", v["rate"]))
                if rate < 0 or burst < 1:
                    raise ValueError("%s: rate >= 0 and burst >= 1 required" % fam)
                self.rates[fam] = {"rate": rate, "burst": burst}
        if enabled is not None:
            self.enabled = bool(enabled)
        self.buckets = {}         # new figures: every bucket starts full

    def take(self, account, region, service, op, now=None):
        """True if the call may go on; False if it is throttled."""
        fam = family(service, op)
        lim = self.rates.get(fam)
        if not self.enabled or lim is None:
            return True
        now = time.monotonic() if now is None else now
        key = (account, region, fam)
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [lim["burst"], now]
        b[0] = min(lim["burst"], b[0] + (now - b[1]) * lim["rate"])
        b[1] = now
        if b[0] >= 1.0:
            b[0] -= 1.0
            return True
        return False

    def describe(self):
        return {"enabled": self.enabled, "rates": self.rates}
