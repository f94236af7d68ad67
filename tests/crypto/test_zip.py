"""static/js/crypto/zip.js in Chromium: archives made in JS open with
Python's zipfile (Korean names intact, CRCs right), and readZip reads
archives Python made (STORE and DEFLATE)."""

import io
import os
import zipfile

import pytest

pytestmark = pytest.mark.browser

FOLDER = "NPKI/CertbankCA/USER/cn=홍길동()0019010000001,ou=NURI,ou=personal4IB,o=CertbankCA,c=KR"


def js_make_zip(js, files: dict[str, bytes]) -> bytes:
    result = js(
        """async (files) => {
            const { makeZip } = await import("/js/crypto/zip.js");
            const zip = makeZip(files.map(([name, data]) => ({ name, data: fromHex(data) })));
            return { zip: toHex(zip), isUint8: zip instanceof Uint8Array };
        }""",
        [[name, data.hex()] for name, data in files.items()],
    )
    assert result["isUint8"] is True
    return bytes.fromhex(result["zip"])


def js_read_zip(js, data: bytes):
    return js(
        """async (data) => {
            const { readZip } = await import("/js/crypto/zip.js");
            try {
                return (await readZip(fromHex(data))).map(({ name, data }) => [name, toHex(data)]);
            } catch (error) {
                return { error: error.message };
            }
        }""",
        data.hex(),
    )


def test_js_zip_opens_with_python_zipfile(js):
    files = {
        f"{FOLDER}/signCert.der": os.urandom(1234),
        f"{FOLDER}/signPri.key": os.urandom(1300),
        "읽어보세요.txt": "인증서 비밀번호는 아무에게도 알려주지 마세요.".encode(),
        "empty.bin": b"",
    }
    data = js_make_zip(js, files)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC checks
        infos = {info.filename: info for info in archive.infolist()}
        for name, content in files.items():
            assert archive.read(name) == content
            assert infos[name].compress_type == zipfile.ZIP_STORED
            assert infos[name].flag_bits & 0x800, "UTF-8 name flag"
        # Directory entries for the NPKI folder layout.
        for folder in ("NPKI/", "NPKI/CertbankCA/", "NPKI/CertbankCA/USER/", FOLDER + "/"):
            assert infos[folder].is_dir(), folder
        assert set(infos) == set(files) | {"NPKI/", "NPKI/CertbankCA/", "NPKI/CertbankCA/USER/", FOLDER + "/"}


def test_js_zip_extracts_to_the_npki_layout(js, tmp_path):
    files = {f"{FOLDER}/signCert.der": b"cert", f"{FOLDER}/signPri.key": b"key"}
    with zipfile.ZipFile(io.BytesIO(js_make_zip(js, files))) as archive:
        archive.extractall(tmp_path)
    assert (tmp_path / FOLDER / "signCert.der").read_bytes() == b"cert"
    assert (tmp_path / FOLDER / "signPri.key").read_bytes() == b"key"


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_read_zip_made_by_python(js, compression):
    files = {
        f"{FOLDER}/signCert.der": os.urandom(1500),
        f"{FOLDER}/signPri.key": b"A" * 5000 + os.urandom(100),
        "한글 파일.txt": "가나다라마바사".encode() * 50,
        "empty": b"",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.mkdir("NPKI")
        for name, content in files.items():
            archive.writestr(name, content)
    assert js_read_zip(js, buffer.getvalue()) == [[name, content.hex()] for name, content in files.items()]


def test_read_zip_mixed_methods_and_round_trip(js):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("stored.bin", b"s" * 100, compress_type=zipfile.ZIP_STORED)
        archive.writestr("deflated.bin", b"d" * 100, compress_type=zipfile.ZIP_DEFLATED)
    assert js_read_zip(js, buffer.getvalue()) == [["stored.bin", (b"s" * 100).hex()], ["deflated.bin", (b"d" * 100).hex()]]
    files = {f"{FOLDER}/signCert.der": b"c" * 10, f"{FOLDER}/signPri.key": b"k" * 20}
    assert js_read_zip(js, js_make_zip(js, files)) == [[name, content.hex()] for name, content in files.items()]


def test_read_zip_rejects_corruption(js):
    files = {"a.txt": b"hello world, hello zip"}
    data = bytearray(js_make_zip(js, files))
    position = data.index(b"hello world")
    data[position] ^= 0x01
    assert "CRC mismatch" in js_read_zip(js, bytes(data))["error"]
    assert "not a zip" in js_read_zip(js, b"definitely not a zip file, just some bytes here")["error"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.bz2", b"x" * 100, compress_type=zipfile.ZIP_BZIP2)
    assert "compression method 12" in js_read_zip(js, buffer.getvalue())["error"]


def test_make_zip_rejects_bad_names(js):
    result = js(
        """async () => {
            const { makeZip } = await import("/js/crypto/zip.js");
            const out = [];
            for (const name of ["/abs", "a/../b", "a//b", "a\\\\b", ""]) {
                try { makeZip([{ name, data: new Uint8Array(1) }]); out.push("accepted"); }
                catch (error) { out.push("rejected"); }
            }
            const twice = [{ name: "a", data: new Uint8Array(1) }, { name: "a", data: new Uint8Array(1) }];
            try { makeZip(twice); out.push("accepted"); }
            catch (error) { out.push("rejected"); }
            return out;
        }"""
    )
    assert result == ["rejected"] * 6
