from core.units import size_text


def test_sizes_are_written_in_the_binary_units_people_read():
    assert size_text(None) == ""
    assert size_text(0) == "0 B"
    assert size_text(1023) == "1,023 B"
    assert size_text(1024) == "1.0 KiB"
    assert size_text(1536) == "1.5 KiB"
    assert size_text(20 * 1024 * 1024 + 300 * 1024) == "20.3 MiB"
    assert size_text(5 * 1024 ** 3 // 4) == "1.2 GiB"
    assert size_text(150 * 1024 ** 3) == "150 GiB"
    assert size_text(3 * 1024 ** 5) == "3,072 TiB"
