"""/api/docs in Chromium with every request off this server refused: Swagger UI (vendored)
renders under the dashboard's strict CSP, and "Try it out" works with the session, a change
included (the page hands Swagger UI the CSRF token)."""

from __future__ import annotations

from playwright.sync_api import Browser, ConsoleMessage, Route, expect

from tests.web.conftest import Live, World, log_in, shot


def test_swagger_ui_works_offline_under_the_csp(
    browser: Browser, server: Live, site_world: World
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    complaints: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(server.base + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            complaints.append(message.text)

    page.route("**/*", only_local)
    page.on("console", console)
    page.on("pageerror", lambda error: complaints.append(str(error)))
    log_in(page, server.base, "ada@agency.example")
    page.goto(server.base + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("sitekeeper")
    expect(page.locator(".opblock-tag-section")).not_to_have_count(0)

    # A change through "Try it out": a token for the logged-in user.
    create = page.locator("#operations-account-create_token_api_me_tokens_post")
    create.locator(".opblock-summary").click()
    create.get_by_role("button", name="Try it out").click()
    create.locator("textarea.body-param__text").fill('{"name": "from the docs"}')
    create.get_by_role("button", name="Execute").click()
    status = create.locator(".live-responses-table .response .response-col_status")
    expect(status.first).to_have_text("201")
    expect(create.locator(".live-responses-table")).to_contain_text("skt_")
    shot(page, "06-api-docs")
    page.close()
    assert outside == [], "the docs page reached for another site"
    assert complaints == [], complaints
