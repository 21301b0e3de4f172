/*
 * The XML reply parser: real-shaped S3, STS and CloudFormation replies,
 * lookups and conversions, limits, refused DTDs, and every truncation of
 * a reply.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "xml.h"

static const char assume_role[] =
    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleResult>\n"
    "    <SourceIdentity>Alice</SourceIdentity>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
    "      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==</SessionToken>\n"
    "      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
    "    </Credentials>\n"
    "    <PackedPolicySize>6</PackedPolicySize>\n"
    "  </AssumeRoleResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleResponse>\n";

static const char list_objects[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>releases</Name><Prefix>billing/</Prefix><KeyCount>2</KeyCount>"
    "<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    "</NextContinuationToken>"
    "<Contents><Key>billing/1.4.0.zip</Key>"
    "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"
    "<Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key> billing/odd &amp; spaced.zip </Key>"
    "<LastModified>2024-02-29T23:59:59.123456Z</LastModified>"
    "<ETag>&quot;x&quot;</ETag><Size>0</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "</ListBucketResult>";

/* The shape of the API reference's DescribeChangeSet sample. */
static const char describe_change_set[] =
    "<DescribeChangeSetResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n"
    "  <DescribeChangeSetResult>\n"
    "    <ChangeSetName>shipgate-42</ChangeSetName>\n"
    "    <ChangeSetId>arn:aws:cloudformation:us-east-1:123456789012:changeSet/shipgate-42/1a2345b6-0000-00a0-a123-00abc0abc000</ChangeSetId>\n"
    "    <StackName>billing-stg</StackName>\n"
    "    <ExecutionStatus>AVAILABLE</ExecutionStatus>\n"
    "    <Status>CREATE_COMPLETE</Status>\n"
    "    <CreationTime>2016-03-17T23:35:25.813Z</CreationTime>\n"
    "    <Capabilities><member>CAPABILITY_IAM</member></Capabilities>\n"
    "    <Parameters>\n"
    "      <member><ParameterKey>ImageUrl</ParameterKey>"
    "<ParameterValue>123456789012.dkr.ecr.us-east-1.amazonaws.com/billing:1.4.0</ParameterValue></member>\n"
    "    </Parameters>\n"
    "    <Changes>\n"
    "      <member>\n"
    "        <ResourceChange>\n"
    "          <Action>Modify</Action>\n"
    "          <Details>\n"
    "            <member>\n"
    "              <Evaluation>Static</Evaluation>\n"
    "              <ChangeSource>ParameterReference</ChangeSource>\n"
    "              <CausingEntity>ImageUrl</CausingEntity>\n"
    "              <Target><Attribute>Properties</Attribute><Name>ContainerDefinitions</Name>"
    "<RequiresRecreation>Never</RequiresRecreation></Target>\n"
    "            </member>\n"
    "          </Details>\n"
    "          <LogicalResourceId>TaskDefinition</LogicalResourceId>\n"
    "          <PhysicalResourceId>arn:aws:ecs:us-east-1:123456789012:task-definition/billing:41</PhysicalResourceId>\n"
    "          <Replacement>True</Replacement>\n"
    "          <ResourceType>AWS::ECS::TaskDefinition</ResourceType>\n"
    "          <Scope><member>Properties</member></Scope>\n"
    "        </ResourceChange>\n"
    "        <Type>Resource</Type>\n"
    "      </member>\n"
    "      <member>\n"
    "        <ResourceChange>\n"
    "          <Action>Add</Action>\n"
    "          <Details/>\n"
    "          <LogicalResourceId>Alarm</LogicalResourceId>\n"
    "          <ResourceType>AWS::CloudWatch::Alarm</ResourceType>\n"
    "          <Scope/>\n"
    "        </ResourceChange>\n"
    "        <Type>Resource</Type>\n"
    "      </member>\n"
    "    </Changes>\n"
    "    <NextToken>page2</NextToken>\n"
    "  </DescribeChangeSetResult>\n"
    "  <ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>\n"
    "</DescribeChangeSetResponse>\n";

static const char query_error[] =
    "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\">\n"
    "  <Error>\n"
    "    <Type>Sender</Type>\n"
    "    <Code>ValidationError</Code>\n"
    "    <Message>Stack with id billing-stg does not exist</Message>\n"
    "  </Error>\n"
    "  <RequestId>4af14eec-350e-11e4-b260-EXAMPLE</RequestId>\n"
    "</ErrorResponse>\n";

static const char s3_error[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Error><Code>NoSuchKey</Code><Message>The resource you requested does "
    "not exist</Message><Resource>/releases/billing/1.4.0.zip</Resource>"
    "<RequestId>4442587FB7D0A2F9</RequestId></Error>";

static int
parse(struct xml **doc, const char *s, const struct xml_limits *l, char **cause)
{
	return (xml_parse(doc, s, strlen(s), l, cause));
}

static void
test_replies(void)
{
	struct xml	      *doc;
	const struct xml_node *root, *n, *m;
	struct timespec	       ts;
	long long	       v;
	char		      *cause = NULL;
	const char	      *s;
	int		       b, i;

	/* STS AssumeRole */
	is_int(parse(&doc, assume_role, NULL, &cause), 0, "AssumeRole parses");
	root = xml_root(doc);
	is_str(xml_name(root), "AssumeRoleResponse",
	    "names drop the default namespace");
	is_str(xml_find_text(root, "AssumeRoleResult/Credentials/AccessKeyId"),
	    "ASIAIOSFODNN7EXAMPLE", "AssumeRole access key");
	s = xml_find_text(root, "AssumeRoleResult/Credentials/SessionToken");
	ok(s != NULL && strlen(s) == 336 && s[strlen(s) - 1] == '=',
	    "AssumeRole session token whole");
	is_int(xml_get_time(root, "AssumeRoleResult/Credentials/Expiration",
		   &ts, NULL),
	    0, "AssumeRole expiration");
	is_int(ts.tv_sec, 1573306481, "expiration as epoch seconds");
	is_int(xml_get_int(root, "AssumeRoleResult/PackedPolicySize", &v, NULL),
	    0, "PackedPolicySize");
	is_int(v, 6, "PackedPolicySize value");
	is_str(xml_find_text(root,
		   "/AssumeRoleResponse/ResponseMetadata/RequestId"),
	    "c6104cbe-af31-11e0-8154-cbc7ccf896c7", "absolute path");
	ok(xml_find(root, "/Other/ResponseMetadata") == NULL,
	    "absolute path with the wrong root");
	is_str(xml_text(root), "", "whitespace between elements is dropped");
	n = xml_find(root, "AssumeRoleResult/Credentials");
	is_str(xml_name(xml_parent(n)), "AssumeRoleResult", "parent");
	is_str(xml_find_text(n,
		   "/AssumeRoleResponse/AssumeRoleResult/SourceIdentity"),
	    "Alice", "absolute path from a child node");
	ok(xml_find(n, "") == n, "empty path is the node itself");
	ok(xml_find(n, "/") == root, "\"/\" is the document element");
	xml_free(doc);

	/* S3 ListObjectsV2 */
	is_int(parse(&doc, list_objects, NULL, NULL), 0,
	    "ListObjectsV2 parses");
	root = xml_root(doc);
	is_int(xml_get_bool(root, "IsTruncated", &b, NULL), 0, "IsTruncated");
	is_int(b, 1, "IsTruncated is true");
	is_int((long long)xml_count(root, "Contents"), 2, "two Contents");
	n = xml_find(root, "Contents");
	is_str(xml_find_text(n, "ETag"), "\"fba9dede5f27731c9771645a39863328\"",
	    "entities in text are decoded");
	is_int(xml_get_time(n, "LastModified", &ts, NULL), 0, "LastModified");
	is_int(ts.tv_sec, 1255369830, "LastModified seconds");
	is_int(ts.tv_nsec, 0, "LastModified .000");
	n = xml_next(n);
	is_str(xml_find_text(n, "Key"), " billing/odd & spaced.zip ",
	    "keys keep their spaces");
	is_int(xml_get_int(n, "Size", &v, NULL), 0, "Size 0");
	is_int(xml_get_time(n, "LastModified", &ts, NULL), 0,
	    "LastModified in a leap year");
	is_int(ts.tv_sec, 1709251199, "2024-02-29T23:59:59");
	is_int(ts.tv_nsec, 123456000, "microseconds kept");
	ok(xml_next(n) == NULL, "no third Contents");
	is_int(xml_get_int(root, "Name", &v, &cause), XML_EVALUE,
	    "text that is not an integer");
	is_str(cause, "Name: not an integer: \"releases\"", "and its message");
	free(cause);
	cause = NULL;
	is_int(xml_get_text(root, "StartAfter", &s, &cause), XML_ENOTFOUND,
	    "a missing element");
	is_str(cause, "StartAfter: missing", "names the path");
	free(cause);
	cause = NULL;
	xml_free(doc);

	/* CloudFormation DescribeChangeSet: iterate Changes/member */
	is_int(parse(&doc, describe_change_set, NULL, NULL), 0,
	    "DescribeChangeSet parses");
	root = xml_root(doc);
	i = 0;
	for (n = xml_find(root, "DescribeChangeSetResult/Changes/member");
	     n != NULL; n = xml_next(n))
		i++;
	is_int(i, 2, "two changes");
	n = xml_find(root, "DescribeChangeSetResult/Changes/member");
	is_str(xml_find_text(n, "ResourceChange/Action"), "Modify",
	    "first change is a Modify");
	m = xml_find(n, "ResourceChange/Details/member");
	is_str(xml_find_text(m, "Target/RequiresRecreation"), "Never",
	    "detail target");
	n = xml_next(n);
	is_str(xml_find_text(n, "ResourceChange/Action"), "Add",
	    "second change is an Add");
	ok(xml_find(n, "ResourceChange/Details/member") == NULL,
	    "empty Details has no member");
	is_str(xml_find_text(n, "ResourceChange/Scope"), "",
	    "an empty element has empty text");
	ok(xml_find_text(n, "ResourceChange/PhysicalResourceId") == NULL,
	    "an absent element has no text");
	is_str(xml_find_text(root, "DescribeChangeSetResult/NextToken"),
	    "page2", "NextToken after the changes");
	is_int(xml_get_bool(n, "ResourceChange/Action", &b, &cause), XML_EVALUE,
	    "not a boolean");
	free(cause);
	cause = NULL;
	n = xml_first_child(xml_find(root, "DescribeChangeSetResult"));
	is_str(xml_name(n), "ChangeSetName", "first child");
	is_str(xml_name(xml_next_sibling(n)), "ChangeSetId", "next sibling");
	xml_free(doc);

	/* the two XML error shapes */
	is_int(parse(&doc, query_error, NULL, NULL), 0, "query error parses");
	root = xml_root(doc);
	is_str(xml_find_text(root, "Error/Code"), "ValidationError",
	    "Error/Code");
	is_str(xml_find_text(root, "RequestId"),
	    "4af14eec-350e-11e4-b260-EXAMPLE", "query error RequestId");
	xml_free(doc);
	is_int(parse(&doc, s3_error, NULL, NULL), 0, "S3 error parses");
	root = xml_root(doc);
	is_str(xml_find_text(root, "/Error/Code"), "NoSuchKey",
	    "S3 /Error/Code");
	xml_free(doc);
}

static void
test_namespaces(void)
{
	struct xml *doc;
	char	   *cause = NULL;

	is_int(parse(&doc,
		   "<s3:A xmlns:s3=\"urn:x\"><s3:B>1</s3:B>"
		   "<B xmlns=\"urn:y\">2</B></s3:A>",
		   NULL, NULL),
	    0, "prefixed names parse");
	is_str(xml_find_text(xml_root(doc), "B"), "1",
	    "lookup by local name, any namespace");
	is_int((long long)xml_count(xml_root(doc), "B"), 2,
	    "both namespaces match");
	xml_free(doc);
	is_int(parse(&doc, "<x:A/>", NULL, &cause), XML_EMALFORMED,
	    "an unbound prefix is malformed");
	ok(cause != NULL && strstr(cause, "unbound prefix") != NULL,
	    "says so: %s", cause);
	free(cause);
}

static void
test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"<A>",
		"<A></B>",
		"<A>text</A><B/>",
		"not xml at all",
		"<A attr=noquote/>",
		"<A>&undefined;</A>",
		"<A>&#0;</A>",
		"<A>\xff\xfe</A>",
		"<A><![CDATA[x]]</A>",
		"<?xml version=\"1.0\" encoding=\"EBCDIC-NOPE\"?><A/>",
		"<A>\x01</A>",
	};
	struct xml *doc;
	char	   *cause;
	size_t	    i;
	int	    rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		rc = parse(&doc, bad[i], NULL, &cause);
		ok(rc == XML_EMALFORMED && doc == NULL && cause != NULL,
		    "malformed %zu refused: %s", i, cause ? cause : "-");
		free(cause);
	}
	cause = NULL;
	rc = xml_parse(&doc, "<A>x\0y</A>", 10, NULL, &cause);
	ok(rc == XML_EMALFORMED, "a NUL byte inside is refused");
	free(cause);
	is_int(xml_parse(&doc, "<A>x</A>", 8, NULL, NULL), 0,
	    "a NULL cause is fine");
	xml_free(doc);
	xml_free(NULL);
	is_int(parse(&doc, "<A><!-- c --><?pi x?>t<![CDATA[<&>]]></A>", NULL,
		   NULL),
	    0, "comments, PIs and CDATA");
	is_str(xml_text(xml_root(doc)), "t<&>", "CDATA is text");
	xml_free(doc);
}

static void
test_dtd(void)
{
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<lolz>&lol9;</lolz>\n";
	static const char external[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n"
	    "<r>&xxe;</r>";
	static const char param[] =
	    "<!DOCTYPE r [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]>"
	    "<r/>";
	static const char plain[] = "<!DOCTYPE r><r/>";
	struct xml	 *doc;
	char		 *cause = NULL;

	is_int(parse(&doc, laughs, NULL, &cause), XML_EMALFORMED,
	    "billion laughs refused");
	is_str(cause, "line 2: DOCTYPE is not allowed in a reply",
	    "at the DOCTYPE, before any entity");
	free(cause);
	cause = NULL;
	is_int(parse(&doc, external, NULL, &cause), XML_EMALFORMED,
	    "external entity refused");
	free(cause);
	cause = NULL;
	is_int(parse(&doc, param, NULL, &cause), XML_EMALFORMED,
	    "parameter entity refused");
	free(cause);
	cause = NULL;
	is_int(parse(&doc, plain, NULL, &cause), XML_EMALFORMED,
	    "any DOCTYPE refused");
	free(cause);
}

static void
test_limits(void)
{
	struct xml_limits l;
	struct xml	 *doc;
	char		 *cause = NULL, *deep;
	size_t		  i;

	xml_limits_default(&l);
	l.max_size = 10;
	is_int(parse(&doc, "<A>0123456</A>", &l, &cause), XML_ELIMIT,
	    "over the size limit");
	is_str(cause, "reply of 14 bytes is over the limit of 10",
	    "size message");
	free(cause);
	cause = NULL;
	l.max_size = 14;
	is_int(parse(&doc, "<A>0123456</A>", &l, NULL), 0, "at the size limit");
	xml_free(doc);

	xml_limits_default(&l);
	deep = malloc(40 * 3 + 40 * 4 + 1);
	deep[0] = '\0';
	for (i = 0; i < 40; i++)
		strcat(deep, "<a>");
	for (i = 0; i < 40; i++)
		strcat(deep, "</a>");
	is_int(parse(&doc, deep, &l, &cause), XML_ELIMIT,
	    "40 levels over the default depth of 32");
	is_str(cause, "line 1: elements nested deeper than 32",
	    "depth message");
	free(cause);
	cause = NULL;
	l.max_depth = 40;
	is_int(parse(&doc, deep, &l, NULL), 0, "40 levels with a depth of 40");
	xml_free(doc);
	free(deep);

	xml_limits_default(&l);
	l.max_elements = 3;
	is_int(parse(&doc, "<A><b/><b/><b/></A>", &l, &cause), XML_ELIMIT,
	    "over the element limit");
	is_str(cause, "line 1: more than 3 elements", "element message");
	free(cause);
	cause = NULL;
	is_int(parse(&doc, "<A><b/><b/></A>", &l, NULL), 0,
	    "at the element limit");
	xml_free(doc);

	xml_limits_default(&l);
	l.max_text = 4;
	is_int(parse(&doc, "<A><b>12345</b></A>", &l, &cause), XML_ELIMIT,
	    "over the text limit");
	is_str(cause, "line 1: more than 4 bytes of text in <b>",
	    "text message");
	free(cause);
	cause = NULL;
	is_int(parse(&doc, "<A><b>1&amp;34</b></A>", &l, NULL), 0,
	    "text counted after decoding");
	xml_free(doc);
}

/* Every prefix of a reply fails cleanly until the root is closed. */
static void
test_truncated(const char *name, const char *reply)
{
	struct xml *doc;
	const char *end;
	size_t	    len, i, complete, bad = 0;
	char	   *cause;
	int	    rc;

	len = strlen(reply);
	end = strrchr(reply, '>');
	complete = (size_t)(end - reply) + 1;
	for (i = 0; i < len; i++) {
		cause = NULL;
		rc = xml_parse(&doc, reply, i, NULL, &cause);
		if (i < complete) {
			if (rc != XML_EMALFORMED || doc != NULL ||
			    cause == NULL) {
				if (bad++ == 0)
					tap_diag("%s cut at %zu: rc %d", name,
					    i, rc);
			}
		} else {
			if (rc != 0)
				bad++;
			xml_free(doc);
		}
		free(cause);
	}
	is_int((long long)bad, 0, "%s cut at each of %zu offsets", name, len);
}

static void
test_conversions(void)
{
	static const struct {
		const char *text;
		int	    rc;
		long long   sec;
		long	    nsec;
	} times[] = {
		{ "1970-01-01T00:00:00Z", 0, 0, 0 },
		{ "2019-10-02T05:20:56.651Z", 0, 1569993656, 651000000 },
		{ "2016-03-17T23:35:25.813Z", 0, 1458257725, 813000000 },
		{ "2000-02-29T12:00:00Z", 0, 951825600, 0 },
		{ "2100-03-01T00:00:00Z", 0, 4107542400LL, 0 },
		{ "2023-12-31T23:59:60Z", 0, 1704067200, 0 },
		{ "2021-02-11T09:46:00.403-06:00", 0, 1613058360, 403000000 },
		{ "2021-02-11T15:46:00+0000", 0, 1613058360, 0 },
		{ "2021-02-11t15:46:00.1z", 0, 1613058360, 100000000 },
		{ "2021-02-11T15:46:00.123456789123Z", 0, 1613058360,
		    123456789 },
		{ "1969-12-31T23:59:59Z", 0, -1, 0 },
		{ "2021-02-11T15:46:00", XML_EVALUE, 0, 0 },
		{ "2021-02-11 15:46:00Z", XML_EVALUE, 0, 0 },
		{ "2021-2-11T15:46:00Z", XML_EVALUE, 0, 0 },
		{ "2021-02-30T15:46:00Z", XML_EVALUE, 0, 0 },
		{ "2100-02-29T00:00:00Z", XML_EVALUE, 0, 0 },
		{ "2021-13-01T00:00:00Z", XML_EVALUE, 0, 0 },
		{ "2021-01-01T24:00:00Z", XML_EVALUE, 0, 0 },
		{ "2021-01-01T00:00:00.Z", XML_EVALUE, 0, 0 },
		{ "2021-01-01T00:00:00Zjunk", XML_EVALUE, 0, 0 },
		{ "2021-01-01T00:00:00+25:00", XML_EVALUE, 0, 0 },
		{ "", XML_EVALUE, 0, 0 },
		{ "1466801808.595", XML_EVALUE, 0, 0 },
	};
	static const struct {
		const char *text;
		int	    rc;
		long long   v;
	} ints[] = {
		{ "0", 0, 0 },
		{ "-17", 0, -17 },
		{ "9223372036854775807", 0, 9223372036854775807LL },
		{ "9223372036854775808", XML_EVALUE, 0 },
		{ "", XML_EVALUE, 0 },
		{ "-", XML_EVALUE, 0 },
		{ "+1", XML_EVALUE, 0 },
		{ " 1", XML_EVALUE, 0 },
		{ "1x", XML_EVALUE, 0 },
		{ "0x10", XML_EVALUE, 0 },
	};
	struct xml     *doc;
	struct timespec ts;
	long long	v;
	size_t		i;
	int		rc, b;

	for (i = 0; i < sizeof times / sizeof times[0]; i++) {
		memset(&ts, 0, sizeof ts);
		rc = xml_parse_time(times[i].text, &ts);
		ok(rc == times[i].rc &&
			(rc != 0 || (ts.tv_sec == times[i].sec &&
					ts.tv_nsec == times[i].nsec)),
		    "time \"%s\"", times[i].text);
		if (rc == 0 && ts.tv_sec != times[i].sec)
			tap_diag("got %lld.%09ld", (long long)ts.tv_sec,
			    ts.tv_nsec);
	}
	for (i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		v = 0;
		rc = xml_parse_int(ints[i].text, &v);
		ok(rc == ints[i].rc && (rc != 0 || v == ints[i].v),
		    "integer \"%s\"", ints[i].text);
	}
	ok(xml_parse_bool("true", &b) == 0 && b == 1, "bool true");
	ok(xml_parse_bool("false", &b) == 0 && b == 0, "bool false");
	ok(xml_parse_bool("True", &b) == XML_EVALUE, "bool True refused");
	is_int(parse(&doc,
		   "<A><n>\n  42\t</n><t> 2020-01-01T00:00:00Z </t>"
		   "<b>\nfalse </b></A>",
		   NULL, NULL),
	    0, "values with whitespace");
	ok(xml_get_int(xml_root(doc), "n", &v, NULL) == 0 && v == 42,
	    "integer with whitespace around");
	ok(xml_get_time(xml_root(doc), "t", &ts, NULL) == 0 &&
		ts.tv_sec == 1577836800,
	    "timestamp with whitespace around");
	ok(xml_get_bool(xml_root(doc), "b", &b, NULL) == 0 && b == 0,
	    "boolean with whitespace around");
	xml_free(doc);
}

int
main(void)
{
	test_replies();
	test_namespaces();
	test_malformed();
	test_dtd();
	test_limits();
	test_conversions();
	test_truncated("AssumeRole", assume_role);
	test_truncated("ListObjectsV2", list_objects);
	test_truncated("DescribeChangeSet", describe_change_set);
	test_truncated("query error", query_error);
	test_truncated("S3 error", s3_error);
	return (tap_done());
}
