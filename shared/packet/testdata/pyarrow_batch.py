import pyarrow as pa

# Only the seed's eight fields are required; the others take their defaults.
batch = pa.table({
    "timestamp": pa.array([1764057600.123456, 1764057600.2], pa.float64()),
    "interface": pa.array(["eth0", "eth0"]).dictionary_encode(),
    "src_ip": pa.array(["192.0.2.1", "2001:db8::1"]),
    "dst_ip": pa.array(["192.0.2.2", None]),
    "protocol": pa.array(["TCP", "ICMPv6"]),
    "src_port": pa.array([51000, None], pa.uint16()),
    "dst_port": pa.array([443, None], pa.uint16()),
    "length": pa.array([74, 118], pa.uint32()),
    "data": pa.array([bytes.fromhex("0200"), None], pa.binary()),
})
with pa.OSFile("batch.arrows", "wb") as sink, pa.ipc.new_stream(sink, batch.schema) as writer:
    writer.write_table(batch)
