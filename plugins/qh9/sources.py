"""Raw access to the two QH9 file layouts: the SQLite databases and the processed LMDB.

SQLite (``QH9Stable.db`` / ``QH9Dynamic.db``), one table ``data``:

* QH9-stable: ``data(id INTEGER PRIMARY KEY, N INTEGER, Z BLOB, pos BLOB, Ham BLOB)``;
* QH9-dynamic: ``data(id, geo_id, N, Z, pos, ekin, epot, etot, time, Ham, converged)``;

``Z`` int32 bytes (N,), ``pos`` float64 bytes (N, 3) (Angstrom for stable, **Bohr** for
dynamic), ``Ham`` float64 bytes of the Fock matrix, row-major, PySCF orbital order, Hartree.

LMDB (QH9's processed files): key = the record index as 4 big-endian bytes, value = a
pickled dict of the same fields (``N``/``num_nodes``, ``Z``/``atoms``, ``pos``, ``Ham``,
``id``, ``geo_id``, ...; bytes or arrays). An LMDB folder (holding ``data.mdb``) or a
single LMDB file is accepted. Values are unpickled with an allow-list (see
:mod:`hamkit_plugins.qh9.safe_pickle`), and only from files the user names.

Both layouts offer a structure-only read (``structure(position)``, a :class:`RawStructure`)
that never decodes ``Ham`` (:func:`decode_matrix`): SQLite does not even select the column;
an LMDB value is one pickle, which cannot be read in part, so it is still unpickled whole
(the ``Ham`` bytes or array are materialized), but ``Ham`` is not decoded.

These classes only decode bytes; units, basis and conventions are the dataset's job.
"""

from __future__ import annotations

import functools
import os
import pickle
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hamkit.data.readers import ProcessLocal
from hamkit.data.validation import record_error
from hamkit_plugins.qh9.safe_pickle import loads_restricted

STABLE_COLUMNS = ("id", "N", "Z", "pos", "Ham")
STRUCTURE_COLUMNS = ("id", "N", "Z", "pos")
"""Columns a structure-only read selects (never ``Ham``)."""
DYNAMIC_COLUMNS = ("id", "geo_id", "N", "Z", "pos", "ekin", "epot", "etot", "time", "Ham", "converged")
DYNAMIC_EXTRAS = ("geo_id", "ekin", "epot", "etot", "time", "converged")
SQLITE_MAGIC = b"SQLite format 3\x00"

_FIELD_ALIASES = {"N": ("N", "num_nodes"), "Z": ("Z", "atoms"), "pos": ("pos",), "Ham": ("Ham",)}


@dataclass
class RawStructure:
    """The atoms of one QH9 record as stored (no unit conversion, no matrices).

    Attributes:
        name: Record name for messages (``"id=7"``).
        record_id: The ``id`` field (the LMDB index when the value has none).
        n_atoms: The ``N`` field (None when absent).
        numbers: Atomic numbers as decoded, shape (n,).
        positions: Position values as decoded (flat or (n, 3)), file units.
    """

    name: str
    record_id: int
    n_atoms: int | None
    numbers: np.ndarray
    positions: np.ndarray


@dataclass
class RawRecord(RawStructure):
    """One QH9 record as stored (no unit or order conversion).

    Attributes (besides those of :class:`RawStructure`):
        hamiltonian: Hamiltonian values as decoded (flat or square), PySCF order, Hartree.
        extras: Other fields (dynamic: geo_id, ekin, epot, etot, time, converged).
    """

    hamiltonian: np.ndarray = field(default_factory=lambda: np.zeros(0))
    extras: dict[str, Any] = field(default_factory=dict)


def decode_array(value: Any, dtype: type, what: str, source: Path, name: str) -> np.ndarray:
    """Bytes (``tobytes`` layout) or an array-like to a flat numpy array of ``dtype``.

    Raises:
        RecordError: Missing, or a byte length that is not a whole number of values.
    """
    if value is None:
        raise record_error(source, name, f"field {what!r} is empty", "the file is damaged")
    if isinstance(value, (bytes, bytearray, memoryview)):
        itemsize = np.dtype(dtype).itemsize
        if len(value) % itemsize:
            raise record_error(source, name,
                               f"field {what!r} has {len(value)} bytes, not a whole number of "
                               f"{np.dtype(dtype).name} values", "the file is truncated or damaged")
        return np.frombuffer(bytes(value), dtype=dtype)
    try:
        return np.asarray(value, dtype=dtype).reshape(-1)
    except (TypeError, ValueError) as error:
        raise record_error(source, name, f"field {what!r} cannot be read as numbers ({error})",
                           "the file is damaged") from None


def decode_matrix(value: Any, source: Path, name: str) -> np.ndarray:
    """The ``Ham`` field as flat float64 values (only full reads call this, never
    ``structure()``).

    Raises:
        RecordError: As :func:`decode_array`.
    """
    return decode_array(value, np.float64, "Ham", source, name)


def _scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bytes, bytearray)):
        return None
    return value


def _file_error(path: Path, error: Exception, what: str) -> Exception:
    return record_error(path, None, f"cannot read it as {what} ({type(error).__name__}: {error})",
                        "the file is truncated, damaged or not in this format")


# --------------------------------------------------------------------- SQLite
def _connect_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)


class SqliteSource:
    """A QH9 SQLite database, read-only.

    Args:
        path: The ``.db`` file.
        variant: ``"stable"``, ``"dynamic"`` or None (detected from the table's columns).

    Raises:
        RecordError: Not SQLite, damaged, no ``data`` table, columns of neither variant, or
            columns that contradict ``variant``.
    """

    def __init__(self, path: Path, variant: str | None) -> None:
        self.path = path
        self._connection = ProcessLocal(functools.partial(_connect_readonly, path), sqlite3.Connection.close)
        try:
            columns = [row[1] for row in self._query("PRAGMA table_info(data)")]
            self.variant = _variant_from_columns(path, columns, variant)
            self.ids: list[int] = [int(row[0]) for row in self._query("SELECT id FROM data ORDER BY id")]
        except sqlite3.Error as error:
            raise _file_error(path, error, "a QH9 SQLite database") from None
        self.names = [f"id={record_id}" for record_id in self.ids]
        self._columns = DYNAMIC_COLUMNS if self.variant == "dynamic" else STABLE_COLUMNS

    def _query(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        return self._connection.get().execute(sql, parameters).fetchall()

    def _row(self, position: int, columns: tuple[str, ...]) -> dict[str, Any]:
        name = self.names[position]
        try:
            rows = self._query(f"SELECT {', '.join(columns)} FROM data WHERE id = ?", (self.ids[position],))
        except sqlite3.Error as error:
            raise record_error(self.path, name, f"cannot be read ({type(error).__name__}: {error})",
                               "the file is truncated or damaged") from None
        if not rows:
            raise record_error(self.path, name, "disappeared from the table",
                               "the file changed while it was read")
        return dict(zip(columns, rows[0]))

    def numbers(self, position: int) -> np.ndarray:
        """Atomic numbers of one record (reads only the ``Z`` column)."""
        return decode_array(self._row(position, ("Z",))["Z"], np.int32, "Z", self.path, self.names[position])

    def all_numbers(self) -> list[tuple[str, np.ndarray]]:
        """``(name, atomic numbers)`` of every record, in order (one query)."""
        try:
            rows = self._query("SELECT id, Z FROM data ORDER BY id")
        except sqlite3.Error as error:
            raise _file_error(self.path, error, "a QH9 SQLite database") from None
        return [(f"id={row[0]}", decode_array(row[1], np.int32, "Z", self.path, f"id={row[0]}"))
                for row in rows]

    def raw(self, position: int) -> RawRecord:
        """The record at ``position`` as stored."""
        name = self.names[position]
        row = self._row(position, self._columns)
        extras = {key: _scalar(row[key]) for key in DYNAMIC_EXTRAS if key in row}
        return RawRecord(
            **vars(self._structure_of(row, name)),
            hamiltonian=decode_matrix(row["Ham"], self.path, name),
            extras=extras,
        )

    def structure(self, position: int) -> RawStructure:
        """The atoms of the record at ``position`` as stored; selects only ``id, N, Z, pos``
        (the ``Ham`` blob is never read)."""
        return self._structure_of(self._row(position, STRUCTURE_COLUMNS), self.names[position])

    def _structure_of(self, row: dict[str, Any], name: str) -> RawStructure:
        return RawStructure(
            name=name,
            record_id=int(row["id"]),
            n_atoms=None if row["N"] is None else int(row["N"]),
            numbers=decode_array(row["Z"], np.int32, "Z", self.path, name),
            positions=decode_array(row["pos"], np.float64, "pos", self.path, name),
        )

    def close(self) -> None:
        """Close the connection (re-opened on the next access)."""
        self._connection.close()


def _variant_from_columns(path: Path, columns: list[str], requested: str | None) -> str:
    if not columns:
        raise record_error(path, None, "has no table 'data'",
                           "this is not a QH9 database (expected table data(id, N, Z, pos, Ham))")
    present = set(columns)
    if present >= set(DYNAMIC_COLUMNS):
        detected = "dynamic"
    elif present >= set(STABLE_COLUMNS):
        detected = "stable"
    else:
        raise record_error(path, None, f"table 'data' has columns {columns}",
                           f"expected QH9-stable {list(STABLE_COLUMNS)} or QH9-dynamic "
                           f"{list(DYNAMIC_COLUMNS)}")
    if requested is not None and requested != detected:
        raise record_error(path, None, f"is a QH9-{detected} file (table columns {columns}), "
                           f"but variant '{requested}' was requested",
                           f"set variant: {detected} or leave it out")
    return detected


# --------------------------------------------------------------------- LMDB
_ENVIRONMENTS: dict[tuple[str, int], Any] = {}
"""Open LMDB environments by (resolved path, process id): py-lmdb refuses to open one
environment twice in a process, so copies of a reader (e.g. unpickled ones) share it."""


def _environment(path: Path) -> Any:
    import lmdb

    key = (str(path.resolve()), os.getpid())
    env = _ENVIRONMENTS.get(key)
    if env is None:
        for inherited in [other for other in _ENVIRONMENTS if other[0] == key[0]]:
            _ENVIRONMENTS.pop(inherited).close()  # a parent's (forked) handle: py-lmdb needs it closed
        env = lmdb.open(str(path), subdir=path.is_dir(), readonly=True, lock=False, readahead=False,
                        meminit=False, max_readers=2048)
        _ENVIRONMENTS[key] = env
    return env


def _close_environment(path: Path) -> None:
    env = _ENVIRONMENTS.pop((str(path.resolve()), os.getpid()), None)
    if env is not None:
        env.close()


class LmdbSource:
    """A processed QH9 LMDB (folder with ``data.mdb``, or a single file), read-only.

    Args:
        path: The LMDB folder or file.
        variant: ``"stable"``, ``"dynamic"`` or None (detected: a ``geo_id`` field in the
            first record means dynamic).

    Raises:
        RecordError: Not LMDB, truncated, empty, or a first record that cannot be read.
    """

    def __init__(self, path: Path, variant: str | None) -> None:
        import lmdb

        self.path = path
        try:
            env = _environment(path)
            _check_not_truncated(path, env)
            with env.begin() as transaction:
                self.keys: list[bytes] = [bytes(key) for key in transaction.cursor().iternext(values=False)]
        except lmdb.Error as error:
            raise _file_error(path, error, "a QH9 LMDB") from None
        self.names = [f"index={_index(key)}" for key in self.keys]
        if not self.keys:
            raise record_error(path, None, "holds no records", "check the path")
        first = self._value(0)
        detected = "dynamic" if "geo_id" in first else "stable"
        if variant is not None and variant != detected:
            raise record_error(path, None, f"looks like QH9-{detected} (first record fields "
                               f"{sorted(first)}), but variant '{variant}' was requested",
                               f"set variant: {detected} or leave it out")
        self.variant = detected

    def _value(self, position: int) -> dict[str, Any]:
        import lmdb

        name = self.names[position]
        try:
            with _environment(self.path).begin() as transaction:
                data = transaction.get(self.keys[position])
        except lmdb.Error as error:
            raise record_error(self.path, name, f"cannot be read ({error})", "the file is damaged") from None
        if data is None:
            raise record_error(self.path, name, "disappeared", "the file changed while it was read")
        try:
            value = loads_restricted(bytes(data))
        except pickle.UnpicklingError as error:
            raise record_error(self.path, name, f"cannot be unpickled ({error})",
                               "the file is damaged or not a QH9 LMDB") from None
        except Exception as error:  # noqa: BLE001 - damaged pickles raise many types
            raise record_error(self.path, name, f"cannot be unpickled ({type(error).__name__}: {error})",
                               "the file is truncated or damaged") from None
        if not isinstance(value, dict):
            raise record_error(self.path, name, f"holds a {type(value).__name__}, not a dict",
                               "this is not a QH9 LMDB")
        return value

    def _field(self, value: dict[str, Any], field_name: str, name: str) -> Any:
        for alias in _FIELD_ALIASES[field_name]:
            if alias in value:
                return value[alias]
        raise record_error(self.path, name, f"has no field {' / '.join(_FIELD_ALIASES[field_name])} "
                           f"(fields: {sorted(value)})", "this is not a QH9 LMDB")

    def numbers(self, position: int) -> np.ndarray:
        """Atomic numbers of one record (unpickles the whole value)."""
        name = self.names[position]
        return decode_array(self._field(self._value(position), "Z", name), np.int32, "Z", self.path, name)

    def raw(self, position: int) -> RawRecord:
        """The record at ``position`` as stored."""
        value = self._value(position)
        structure = self._structure_of(value, position)
        extras = {key: _scalar(value[key]) for key in DYNAMIC_EXTRAS if key in value}
        return RawRecord(
            **vars(structure),
            hamiltonian=decode_matrix(self._field(value, "Ham", structure.name), self.path, structure.name),
            extras=extras,
        )

    def structure(self, position: int) -> RawStructure:
        """The atoms of the record at ``position`` as stored.

        The value is one pickle, so it is still unpickled whole (its ``Ham`` bytes or array
        are materialized); ``Ham`` is neither looked up nor decoded.
        """
        return self._structure_of(self._value(position), position)

    def _structure_of(self, value: dict[str, Any], position: int) -> RawStructure:
        record_id = _scalar(value.get("id", _index(self.keys[position])))
        name = f"id={record_id} ({self.names[position]})"
        n_atoms = _scalar(self._field(value, "N", name))
        return RawStructure(
            name=name,
            record_id=int(record_id),
            n_atoms=None if n_atoms is None else int(n_atoms),
            numbers=decode_array(self._field(value, "Z", name), np.int32, "Z", self.path, name),
            positions=decode_array(self._field(value, "pos", name), np.float64, "pos", self.path, name),
        )

    def close(self) -> None:
        """Close the environment, shared by the copies of this reader in this process
        (re-opened on the next access)."""
        _close_environment(self.path)


def _index(key: bytes) -> int:
    return int.from_bytes(key, "big") if len(key) == 4 else int.from_bytes(key[:8], "big")


def _check_not_truncated(path: Path, env: Any) -> None:
    """Refuse a data file shorter than the pages LMDB's meta page says it uses.

    Reading a page past the end of a truncated memory-mapped file would kill the process
    (SIGBUS) instead of raising, so this is checked before any record is read.
    """
    data_file = path / "data.mdb" if path.is_dir() else path
    needed = (int(env.info()["last_pgno"]) + 1) * int(env.stat()["psize"])
    size = data_file.stat().st_size
    if size < needed:
        raise record_error(path, None, f"is truncated ({size} bytes, its header says {needed})",
                           "copy or download the file again")


def open_source(path: Path, variant: str | None) -> SqliteSource | LmdbSource:
    """Open a QH9 file: SQLite if it starts with the SQLite header, else LMDB.

    Raises:
        RecordError: Neither layout.
    """
    if path.is_file():
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
                return SqliteSource(path, variant)
    try:
        return LmdbSource(path, variant)
    except ImportError:  # pragma: no cover - lmdb is a dependency of this plugin
        raise record_error(path, None, "is not SQLite; reading a QH9 LMDB needs the 'lmdb' package",
                           "pip install lmdb") from None
