"""Sets up data in a test S3 server with boto3, the way any S3 client would
(tests/support/src/seaweedfs.rs calls it):

    s3_fixture.py ENDPOINT ACCESS_KEY SECRET_KEY create-bucket BUCKET
    s3_fixture.py ENDPOINT ACCESS_KEY SECRET_KEY put BUCKET KEY   (body on stdin)
"""

import sys

import boto3
from botocore.config import Config


def main() -> None:
    endpoint, access_key, secret_key, command, bucket, *rest = sys.argv[1:]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    if command == "create-bucket":
        s3.create_bucket(Bucket=bucket)
    elif command == "put":
        (key,) = rest
        s3.put_object(Bucket=bucket, Key=key, Body=sys.stdin.buffer.read())
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
