# refused-connect.py ADDR PORT [opts]: one TCP connection attempt that must be refused.
# With "opts" the SYN carries 4 bytes of IPv4 options (NOP NOP NOP EOL): header length 24,
# so the ports sit 4 bytes further than a fixed-offset u32 filter expects.
import socket, sys
addr, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
if len(sys.argv) > 3 and sys.argv[3] == "opts":
    s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x01\x01\x01\x00")
s.settimeout(3)
try:
    s.connect((addr, port))
except ConnectionRefusedError:
    sys.exit(0)
except OSError as e:
    sys.exit("connect %s:%d: %s (expected a refusal)" % (addr, port, e))
sys.exit("connect %s:%d: accepted (expected a refusal: something listens)" % (addr, port))
