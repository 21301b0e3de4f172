"""Static credentials of the fake AWS endpoint (tests/fakeaws).

These are test-only values; they are also written out in README.md so C tests
can copy them.  The static key belongs to the "tools" account.
"""

ACCESS_KEY_ID = "AKIASHIPGATETEST0001"
SECRET_ACCESS_KEY = "shipgate/test/secret/key/000000000000000000"
TOOLS_ACCOUNT = "000000000000"
TOOLS_USER_ARN = "arn:aws:iam::000000000000:user/shipgate-test"
TOOLS_USER_ID = "AIDASHIPGATETEST0001"

# A second static key in the tools account whose secret tests may use to
# prove a wrong secret is refused (it is NOT known to the fake).
WRONG_SECRET = "not/the/right/secret/0000000000000000000000"

DEFAULT_REGION = "eu-west-1"

# The demo accounts (conf/shipgate.example.yaml's, renumbered for the sandbox).
DEMO_ACCOUNTS = {
    "int": "111111111111",
    "stg": "222222222222",
    "prod": "333333333333",
}
