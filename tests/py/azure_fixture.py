"""Sets up data in Azurite with Microsoft's own client, azure-storage-blob
(tests/support/src/azurite.rs calls it). CONN is a connection string.

    azure_fixture.py CONN CA_FILE|- create-container CONTAINER
    azure_fixture.py CONN CA_FILE|- put-blob CONTAINER BLOB        (body on stdin)
    azure_fixture.py CONN CA_FILE|- container-sas CONTAINER PERMISSIONS SECONDS
    azure_fixture.py CONN CA_FILE|- account-sas PERMISSIONS SECONDS

The SAS commands print the token (a query string without '?').
"""

import sys
from datetime import datetime, timedelta, timezone

from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ContainerSasPermissions,
    ResourceTypes,
    generate_account_sas,
    generate_container_sas,
)


def main() -> None:
    conn, ca_file, command, *rest = sys.argv[1:]
    kwargs = {} if ca_file == "-" else {"connection_verify": ca_file}
    service = BlobServiceClient.from_connection_string(conn, **kwargs)
    name, key = service.account_name, service.credential.account_key
    if command == "create-container":
        (container,) = rest
        service.create_container(container)
    elif command == "put-blob":
        container, blob = rest
        service.get_blob_client(container, blob).upload_blob(sys.stdin.buffer.read(), overwrite=True)
    elif command == "container-sas":
        container, permissions, seconds = rest
        expiry = datetime.now(timezone.utc) + timedelta(seconds=int(seconds))
        perms = ContainerSasPermissions.from_string(permissions)
        print(generate_container_sas(name, container, account_key=key, permission=perms, expiry=expiry))
    elif command == "account-sas":
        permissions, seconds = rest
        expiry = datetime.now(timezone.utc) + timedelta(seconds=int(seconds))
        print(
            generate_account_sas(
                name,
                key,
                ResourceTypes(service=True, container=True, object=True),
                AccountSasPermissions.from_string(permissions),
                expiry,
            )
        )
    else:
        sys.exit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
