import time
from playwright.sync_api import expect

def test_scratch_close(both, daphne_server):
    alice, bob = both
    alice.focus_end(); alice.type("Leaving soon")
    expect(bob.page.locator(".collaboration-carets__label")).to_have_text("Alice")
    bob.page.evaluate("""() => { window.__aw = []; window.__provider.awareness.on('change', (c, o) => window.__aw.push([performance.now(), JSON.stringify(c), String(o && o.constructor && o.constructor.name)])) }""")
    t0 = time.time()
    t0js = bob.page.evaluate("performance.now()")
    alice.page.close()
    bob.page.wait_for_function("() => !document.querySelector('#avatars .avatar[data-name=Alice]')", timeout=20000)
    print("removed after", round(time.time()-t0, 2))
    print([(round(t - t0js), c, o) for t, c, o in bob.page.evaluate("window.__aw")])
    print("\n".join(l[:200] for l in daphne_server.log().splitlines()[-12:]))
