import errno

import pytest
from appliance_common.edge_impulse import api_key
from appliance_common.settings import SettingsError
from appliance_common.startup import bad_settings, cannot_listen


def test_a_bad_setting_is_one_line_per_variable_and_status_2(capsys):
    status = bad_settings("svc", SettingsError("A='x' is not valid\nB='y' is not valid"))
    assert status == 2
    assert capsys.readouterr().err == "svc: A='x' is not valid\nsvc: B='y' is not valid\n"


def test_a_taken_port_is_one_line_and_status_1(capsys):
    error = OSError(errno.EADDRINUSE, "address in use")
    assert cannot_listen("svc", 80, error) == 1
    assert capsys.readouterr().err == "svc: cannot listen on PORT=80: [Errno 98] address in use\n"
    with pytest.raises(OSError):
        cannot_listen("svc", 80, OSError(errno.EIO, "other"))


def test_the_ei_key_is_checked_and_never_echoed():
    assert api_key({}) is None
    assert api_key({"EI_API_KEY": " ei_abc "}) == "ei_abc"
    with pytest.raises(SettingsError) as caught:
        api_key({"EI_API_KEY": "ei_a bc"})
    assert "ei_a bc" not in str(caught.value)
