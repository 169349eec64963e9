"""The simulated car's GATT table for bleak 0.22, whose GATT classes are abstract (lane 1).

bleak 1.0 made services, characteristics and descriptors plain data built from their handle and
UUID; `simulator.ble_proxy.tesla_services` builds those directly. mypy runs on the newest bleak,
where these subclasses no longer match their bases, so this module is not type-checked.
"""

# mypy: ignore-errors

from __future__ import annotations

from uuid import UUID

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.uuids import normalize_uuid_str

from simulator.ble_car import READ_UUID, SERVICE_UUID, VERSION_UUID, WRITE_UUID
from simulator.ble_proxy import (
    CCCD_UUID,
    READ_CCCD_HANDLE,
    READ_HANDLE,
    SERVICE_HANDLE,
    VERSION_HANDLE,
    WRITE_HANDLE,
)


class _Attribute:
    """An entry of the GATT table, known by handle and UUID (abstract in bleak 0.22)."""

    _handle: int
    _uuid: str

    @property
    def handle(self) -> int:
        """The attribute's handle."""
        return self._handle

    @property
    def uuid(self) -> str:
        """The attribute's UUID."""
        return self._uuid


class _Service(_Attribute, BleakGATTService):
    """A GATT service of the simulated car."""

    def __init__(self, handle: int, uuid: str) -> None:
        super().__init__(None)
        self._handle = handle
        self._uuid = uuid
        self._characteristics: list[BleakGATTCharacteristic] = []

    @property
    def characteristics(self) -> list[BleakGATTCharacteristic]:
        """The service's characteristics."""
        return self._characteristics

    def add_characteristic(self, characteristic: BleakGATTCharacteristic) -> None:
        """Attach a characteristic."""
        self._characteristics.append(characteristic)


class _Characteristic(_Attribute, BleakGATTCharacteristic):
    """A GATT characteristic of the simulated car."""

    def __init__(
        self, service: _Service, handle: int, uuid: str, properties: list[str], mtu: int
    ) -> None:
        super().__init__(None, lambda: mtu - 3)
        self._service = service
        self._handle = handle
        self._uuid = uuid
        self._properties = properties
        self._descriptors: list[BleakGATTDescriptor] = []

    @property
    def service_uuid(self) -> str:
        """The UUID of the service holding this characteristic."""
        return self._service.uuid

    @property
    def service_handle(self) -> int:
        """The handle of the service holding this characteristic."""
        return self._service.handle

    @property
    def properties(self) -> list[str]:
        """The operations the characteristic supports."""
        return self._properties

    @property
    def descriptors(self) -> list[BleakGATTDescriptor]:
        """The characteristic's descriptors."""
        return self._descriptors

    def get_descriptor(self, specifier: int | str | UUID) -> BleakGATTDescriptor | None:
        """Find a descriptor by handle or UUID."""
        for descriptor in self._descriptors:
            if isinstance(specifier, int):
                if descriptor.handle == specifier:
                    return descriptor
            elif descriptor.uuid == normalize_uuid_str(str(specifier)):
                return descriptor
        return None

    def add_descriptor(self, descriptor: BleakGATTDescriptor) -> None:
        """Attach a descriptor."""
        self._descriptors.append(descriptor)


class _Descriptor(_Attribute, BleakGATTDescriptor):
    """A GATT descriptor of the simulated car."""

    def __init__(self, characteristic: _Characteristic, handle: int, uuid: str) -> None:
        super().__init__(None)
        self._characteristic = characteristic
        self._handle = handle
        self._uuid = uuid

    @property
    def characteristic_uuid(self) -> str:
        """The UUID of the characteristic holding this descriptor."""
        return self._characteristic.uuid

    @property
    def characteristic_handle(self) -> int:
        """The handle of the characteristic holding this descriptor."""
        return self._characteristic.handle


def abstract_gatt_services(mtu: int) -> BleakGATTServiceCollection:
    """Build the GATT table a Tesla exposes with bleak 0.22's abstract GATT classes."""
    collection = BleakGATTServiceCollection()
    service = _Service(SERVICE_HANDLE, SERVICE_UUID)
    collection.add_service(service)
    write = _Characteristic(service, WRITE_HANDLE, WRITE_UUID, ["write"], mtu)
    read = _Characteristic(service, READ_HANDLE, READ_UUID, ["indicate"], mtu)
    version = _Characteristic(service, VERSION_HANDLE, VERSION_UUID, ["read"], mtu)
    for characteristic in (write, read, version):
        collection.add_characteristic(characteristic)
    collection.add_descriptor(_Descriptor(read, READ_CCCD_HANDLE, CCCD_UUID))
    return collection
