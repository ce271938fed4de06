"""What an operator would otherwise script to watch an S3 bucket: a boto3
client reused in a loop of head_bucket calls, for the `auth` benchmark
(host/benches/auth/s3.rs). Runs `threads` loops on one client for
`seconds` and prints one JSON line: calls, seconds and this process's CPU
seconds over the loop (the imports and the client's set-up are left out).

Usage: head_bucket.py ENDPOINT KEY SECRET BUCKET SECONDS THREADS
"""

import json
import sys
import threading
import time

import boto3
from botocore.config import Config


def main():
    endpoint, key, secret, bucket = sys.argv[1:5]
    seconds, threads = float(sys.argv[5]), int(sys.argv[6])
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=max(10, threads)),
    )
    s3.head_bucket(Bucket=bucket)  # the connection and botocore's lazy loading
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def loop(i):
        while time.monotonic() < stop:
            s3.head_bucket(Bucket=bucket)
            counts[i] += 1

    cpu0, t0 = time.process_time(), time.monotonic()
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(json.dumps({"calls": sum(counts), "seconds": time.monotonic() - t0, "cpu": time.process_time() - cpu0}))


if __name__ == "__main__":
    main()
