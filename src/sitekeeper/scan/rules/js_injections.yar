/*
 * sitekeeper's own rules: script loaders injected into JavaScript files and
 * theme templates. Metadata and tests as in php_code_execution.yar.
 */

rule js_obfuscated_script_loader
{
    meta:
        severity = "high"
        description = "A script element whose address is hidden (atob, fromCharCode, unescape, escapes): an injected loader pulling in someone else's code"
    strings:
        $src = /createElement\s*\(\s*["']script["']\s*\).{0,400}\.src\s*=\s*[^;]{0,120}(atob\s*\(|fromCharCode|unescape\s*\(|\\x[0-9a-fA-F]{2}|\\u00[0-9a-fA-F]{2}|\.reverse\s*\(\s*\)\s*\.join)/s
        $attr = /createElement\s*\(\s*["']script["']\s*\).{0,400}setAttribute\s*\(\s*["']src["']\s*,\s*[^;]{0,120}(atob\s*\(|fromCharCode|unescape\s*\(|\\x[0-9a-fA-F]{2}|\\u00[0-9a-fA-F]{2}|\.reverse\s*\(\s*\)\s*\.join)/s
    condition:
        any of them
}

rule js_fromcharcode_chain
{
    meta:
        severity = "high"
        description = "Text assembled from long runs of character codes (String.fromCharCode): how injected scripts hide their address and code"
    strings:
        $long = /String\.fromCharCode\s*\(\s*\d{1,5}\s*(,\s*\d{1,5}\s*){23,}\)/
        $chained = /(String\.fromCharCode\s*\(\s*\d{1,5}\s*\)\s*\+\s*){6}/
        $eval = /\beval\s*\(\s*String\.fromCharCode\s*\(/
    condition:
        any of them
}

rule js_packed_eval
{
    meta:
        severity = "medium"
        description = "Code packed as eval(function(p,a,c,k,e,d)...): common wrapper of injected scripts, legitimate only in old libraries"
    strings:
        $packer = /eval\s*\(\s*function\s*\(\s*p\s*,\s*a\s*,\s*c\s*,\s*k\s*,\s*e\s*,\s*[dr]\s*\)/
    condition:
        $packer
}

rule js_known_injection
{
    meta:
        severity = "critical"
        description = "Marker of a known JavaScript injection campaign (NDSW/NDSX loader appended to a site's .js files)"
    strings:
        $ndsw = /\bnds[wjx]\s*===\s*undefined/
    condition:
        $ndsw
}
