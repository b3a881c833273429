def test_scratch_fails(both):
    alice, bob = both
    alice.focus_end(); alice.type("screenshot me")
    bob.wait_text_contains("screenshot me")
    assert False, "deliberate"
