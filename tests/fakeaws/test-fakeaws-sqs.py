#!/usr/bin/python3
"""SQS through boto3, in both protocols (query, and JSON 1.0 with
X-Amz-Target: AmazonSQS.*): queues, messages, long polling, visibility,
receive counts, redrive to a dead-letter queue, errors."""

import json
import os
import sys
import threading
import time

sys.dont_write_bytecode = True   # never write into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakeawstest as F                                  # noqa: E402


def exercise(t, fake, sqs, tag):
    """The same checks through one client; `tag` names the protocol.  In JSON
    botocore takes the error code from x-amzn-query-error, so both protocols
    show the query codes."""
    q = sqs.create_queue(QueueName="q-" + tag, Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"]
    t.ok(q.endswith("/000000000000/q-" + tag), "%s: CreateQueue gives a URL" % tag, q)
    t.eq(sqs.create_queue(QueueName="q-" + tag)["QueueUrl"], q,
         "%s: CreateQueue again with the same attributes: same URL" % tag)
    t.raises(lambda: sqs.create_queue(QueueName="q-" + tag,
                                      Attributes={"VisibilityTimeout": "31"}),
             "QueueAlreadyExists",
             "%s: CreateQueue with other attributes: already exists" % tag)
    t.eq(sqs.get_queue_url(QueueName="q-" + tag)["QueueUrl"], q, "%s: GetQueueUrl" % tag)
    t.raises(lambda: sqs.get_queue_url(QueueName="nope"),
             "AWS.SimpleQueueService.NonExistentQueue", "%s: GetQueueUrl missing: NonExistentQueue" % tag)
    t.raises(lambda: sqs.create_queue(QueueName="bad name!"),
             "InvalidParameterValue",
             "%s: CreateQueue bad name: InvalidParameterValue" % tag)
    t.ok(q in sqs.list_queues(QueueNamePrefix="q-" + tag).get("QueueUrls", []),
         "%s: ListQueues" % tag)

    r = sqs.send_message(QueueUrl=q, MessageBody="hello é", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "drop"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    t.eq(r["MD5OfMessageBody"], "fdb2a6d7d2d2e51d2b8d7d1e5d1b0c34"[:0] +
         __import__("hashlib").md5("hello é".encode()).hexdigest(),
         "%s: SendMessage MD5OfMessageBody" % tag)
    t.ok(len(r.get("MD5OfMessageAttributes", "")) == 32,
         "%s: SendMessage MD5OfMessageAttributes" % tag)
    m = sqs.receive_message(QueueUrl=q, AttributeNames=["All"],
                            MessageAttributeNames=["All"])["Messages"][0]
    t.ok(m["Body"] == "hello é" and m["MessageId"] == r["MessageId"] and
         m["Attributes"]["ApproximateReceiveCount"] == "1" and
         "SentTimestamp" in m["Attributes"] and
         m["MessageAttributes"]["kind"]["StringValue"] == "drop" and
         m["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01" and
         m["MD5OfMessageAttributes"] == r["MD5OfMessageAttributes"],
         "%s: ReceiveMessage returns body, attributes, message attributes" % tag, m)
    t.ok("Messages" not in sqs.receive_message(QueueUrl=q),
         "%s: the received message is invisible" % tag)
    sqs.change_message_visibility(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=0)
    m2 = sqs.receive_message(QueueUrl=q, AttributeNames=["ApproximateReceiveCount"])[
        "Messages"][0]
    t.eq(m2["Attributes"]["ApproximateReceiveCount"], "2",
         "%s: ChangeMessageVisibility 0 makes it visible; receive count 2" % tag)
    t.raises(lambda: sqs.change_message_visibility(
        QueueUrl=q, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=10),
        "AWS.SimpleQueueService.MessageNotInflight",
        "%s: ChangeMessageVisibility with a stale handle: MessageNotInflight" % tag)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
    a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    t.eq(a["ApproximateNumberOfMessagesNotVisible"], "1",
         "%s: DeleteMessage with a stale handle succeeds but deletes nothing" % tag)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=m2["ReceiptHandle"])
    a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
    t.ok(a["ApproximateNumberOfMessages"] == "0" and
         a["ApproximateNumberOfMessagesNotVisible"] == "0" and
         a["QueueArn"].endswith(":000000000000:q-" + tag) and a["VisibilityTimeout"] == "30",
         "%s: DeleteMessage; GetQueueAttributes All" % tag, a)
    t.raises(lambda: sqs.delete_message(QueueUrl=q, ReceiptHandle="garbage"),
             "ReceiptHandleIsInvalid", "%s: DeleteMessage garbage: ReceiptHandleIsInvalid"
             % tag)
    t.raises(lambda: sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=11),
             "InvalidParameterValue",
             "%s: MaxNumberOfMessages 11: InvalidParameterValue" % tag)
    t.raises(lambda: sqs.send_message(QueueUrl=q + "-gone", MessageBody="x"),
             "AWS.SimpleQueueService.NonExistentQueue", "%s: SendMessage to a missing queue" % tag)

    # Long polling returns as soon as a message arrives.
    def later():
        time.sleep(0.5)
        sqs2 = fake.client("sqs") if tag == "query" else fake.sqs_json_client()
        sqs2.send_message(QueueUrl=q, MessageBody="late")
    th = threading.Thread(target=later)
    t0 = time.time()
    th.start()
    r = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=10)
    took = time.time() - t0
    th.join()
    t.ok(r.get("Messages", [{}])[0].get("Body") == "late" and took < 5,
         "%s: long poll returns when the message arrives (%.2fs)" % (tag, took))
    t0 = time.time()
    r = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=1)
    took = time.time() - t0
    t.ok("Messages" not in r and 0.9 <= took < 5,
         "%s: long poll with nothing waits WaitTimeSeconds (%.2fs)" % (tag, took))

    # Visibility timeout expiry.
    sqs.send_message(QueueUrl=q, MessageBody="vis")
    sqs.purge_queue(QueueUrl=q)
    t.raises(lambda: sqs.purge_queue(QueueUrl=q),
             "AWS.SimpleQueueService.PurgeQueueInProgress", "%s: PurgeQueue twice in 60 s refused" % tag)
    sqs.send_message(QueueUrl=q, MessageBody="vis")
    sqs.receive_message(QueueUrl=q, VisibilityTimeout=1)
    r = sqs.receive_message(QueueUrl=q, WaitTimeSeconds=3,
                            AttributeNames=["ApproximateReceiveCount"])
    t.eq(r.get("Messages", [{}])[0].get("Attributes", {}).get("ApproximateReceiveCount"),
         "2", "%s: message reappears after its visibility timeout" % tag)
    sqs.delete_message(QueueUrl=q, ReceiptHandle=r["Messages"][0]["ReceiptHandle"])

    # Batches.
    r = sqs.send_message_batch(QueueUrl=q, Entries=[
        {"Id": "a", "MessageBody": "1"}, {"Id": "b", "MessageBody": "2"}])
    t.eq(sorted(x["Id"] for x in r["Successful"]), ["a", "b"],
         "%s: SendMessageBatch" % tag)
    t.raises(lambda: sqs.send_message_batch(QueueUrl=q, Entries=[
        {"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}]),
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "%s: batch ids not distinct" % tag)
    ms = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10)["Messages"]
    r = sqs.delete_message_batch(QueueUrl=q, Entries=[
        {"Id": "m%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ms)]
        + [{"Id": "bad", "ReceiptHandle": "garbage"}])
    t.ok(len(r["Successful"]) == len(ms) == 2 and r["Failed"][0]["Id"] == "bad" and
         r["Failed"][0]["Code"] == "ReceiptHandleIsInvalid",
         "%s: DeleteMessageBatch with one bad handle" % tag, r)

    # Redrive to a dead-letter queue after maxReceiveCount.
    dlq = sqs.create_queue(QueueName="dlq-" + tag)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src-" + tag, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn,
                                     "maxReceiveCount": "2"})})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    counts = []
    for _ in range(3):
        r = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0,
                                AttributeNames=["ApproximateReceiveCount"])
        counts.append(r.get("Messages", [{}])[0].get("Attributes", {}).get(
            "ApproximateReceiveCount"))
    t.eq(counts, ["1", "2", None], "%s: received maxReceiveCount times, then gone" % tag)
    r = sqs.receive_message(QueueUrl=dlq)
    t.eq(r.get("Messages", [{}])[0].get("Body"), "poison",
         "%s: the message moved to the dead-letter queue" % tag)
    t.raises(lambda: sqs.create_queue(QueueName="src2-" + tag, Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn + "x",
                                     "maxReceiveCount": "2"})}),
        "InvalidParameterValue",
        "%s: RedrivePolicy to a missing queue refused" % tag)
    sqs.set_queue_attributes(QueueUrl=src, Attributes={"DelaySeconds": "1"})
    t.eq(sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["DelaySeconds"])[
        "Attributes"]["DelaySeconds"], "1", "%s: SetQueueAttributes" % tag)
    sqs.delete_queue(QueueUrl=src)
    t.raises(lambda: sqs.get_queue_url(QueueName="src-" + tag),
             "AWS.SimpleQueueService.NonExistentQueue", "%s: DeleteQueue" % tag)


def main(t, fake):
    exercise(t, fake, fake.client("sqs"), "query")
    js = fake.sqs_json_client()
    exercise(t, fake, js, "json")
    # The JSON protocol's wire details.
    import http.client
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    import fakeaws_keys as K
    req = AWSRequest(method="POST", url=fake.endpoint + "/",
                     data=json.dumps({"QueueName": "nope"}).encode(),
                     headers={"X-Amz-Target": "AmazonSQS.GetQueueUrl",
                              "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(K.ACCESS_KEY_ID, K.SECRET_ACCESS_KEY), "sqs",
              F.REGION).add_auth(req)
    c = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
    c.request("POST", "/", body=req.body, headers=dict(req.headers.items()))
    r = c.getresponse()
    body = json.loads(r.read())
    t.ok(r.status == 400 and body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist" and
         r.getheader("x-amzn-query-error") ==
         "AWS.SimpleQueueService.NonExistentQueue;Sender" and
         r.getheader("Content-Type") == "application/x-amz-json-1.0",
         "JSON 1.0 error: __type, x-amzn-query-error, content type", body)
    # Concurrency: 6 producers and 6 long-polling consumers on one queue; every
    # message is received and deleted exactly once.
    cq = fake.client("sqs").create_queue(QueueName="busy")["QueueUrl"]
    got, errors = [], []

    def producer(i):
        try:
            cl = fake.session().client("sqs", endpoint_url=fake.endpoint,
                                       region_name=F.REGION)
            for j in range(10):
                cl.send_message(QueueUrl=cq, MessageBody="%d-%d" % (i, j))
        except Exception as e:
            errors.append(e)

    def consumer():
        try:
            cl = fake.session().client("sqs", endpoint_url=fake.endpoint,
                                       region_name=F.REGION)
            idle = 0
            while idle < 2:
                r = cl.receive_message(QueueUrl=cq, WaitTimeSeconds=1,
                                       MaxNumberOfMessages=5, VisibilityTimeout=30)
                ms = r.get("Messages", [])
                idle = 0 if ms else idle + 1
                for m in ms:
                    got.append(m["Body"])
                    cl.delete_message(QueueUrl=cq, ReceiptHandle=m["ReceiptHandle"])
        except Exception as e:
            errors.append(e)
    ths = [threading.Thread(target=producer, args=(i,)) for i in range(6)] + \
        [threading.Thread(target=consumer) for _ in range(6)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    t.ok(not errors and sorted(got) == sorted("%d-%d" % (i, j) for i in range(6)
                                              for j in range(10)),
         "concurrency: 60 messages, 6 producers, 6 consumers, each received once",
         (errors[:3], len(got)))

    # Another account cannot use the tools account's queue.
    other = fake.client("sqs", session=fake.assume("111111111111"))
    q = fake.client("sqs").get_queue_url(QueueName="q-query")["QueueUrl"]
    t.raises(lambda: other.send_message(QueueUrl=q, MessageBody="x"), "AccessDenied",
             "another account without a queue policy: AccessDenied")


if __name__ == "__main__":
    F.run(main)
