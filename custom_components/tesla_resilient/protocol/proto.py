"""Tesla's vehicle-command protobuf messages as tesla-fleet-api ships them: the one import."""

from tesla_fleet_api.tesla.vehicle.proto import car_server_pb2 as car_server
from tesla_fleet_api.tesla.vehicle.proto import errors_pb2 as errors
from tesla_fleet_api.tesla.vehicle.proto import keys_pb2 as keys
from tesla_fleet_api.tesla.vehicle.proto import signatures_pb2 as signatures
from tesla_fleet_api.tesla.vehicle.proto import universal_message_pb2 as universal
from tesla_fleet_api.tesla.vehicle.proto import vcsec_pb2 as vcsec
from tesla_fleet_api.tesla.vehicle.proto import vehicle_pb2 as vehicle

__all__ = ["car_server", "errors", "keys", "signatures", "universal", "vcsec", "vehicle"]
