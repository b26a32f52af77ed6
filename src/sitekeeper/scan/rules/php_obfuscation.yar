/*
 * sitekeeper's own rules: PHP hiding what it does (decoder chains, escaped names).
 * Metadata and tests as in php_code_execution.yar.
 */

rule php_decoder_chain
{
    meta:
        severity = "high"
        description = "Nested decoders (base64_decode/gzinflate/gzuncompress/str_rot13...) unpack a hidden payload: typical of injected malware"
    strings:
        $chain = /\b(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|convert_uudecode|hex2bin)\s*\(\s*(@\s*)?(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|convert_uudecode)\s*\(/ nocase
    condition:
        $chain
}

rule php_escaped_function_names
{
    meta:
        severity = "high"
        description = "Names of dangerous functions (eval, base64_decode, gzinflate, shell_exec...) written as hex or octal escapes to hide them"
    strings:
        $hex_eval = "\\x65\\x76\\x61\\x6c" nocase
        $hex_assert = "\\x61\\x73\\x73\\x65\\x72\\x74" nocase
        $hex_base64 = "\\x62\\x61\\x73\\x65\\x36\\x34\\x5f" nocase
        $hex_gzinflate = "\\x67\\x7a\\x69\\x6e\\x66\\x6c\\x61\\x74\\x65" nocase
        $hex_rot13 = "\\x73\\x74\\x72\\x5f\\x72\\x6f\\x74\\x31\\x33" nocase
        $hex_create = "\\x63\\x72\\x65\\x61\\x74\\x65\\x5f\\x66\\x75\\x6e\\x63" nocase
        $hex_shell = "\\x73\\x68\\x65\\x6c\\x6c\\x5f\\x65\\x78\\x65\\x63" nocase
        $oct_eval = "\\145\\166\\141\\154"
        $oct_base64 = "\\142\\141\\163\\145\\066\\064\\137"
        $oct_gzinflate = "\\147\\172\\151\\156\\146\\154\\141\\164\\145"
    condition:
        any of them
}

rule php_shell_preamble
{
    meta:
        severity = "low"
        description = "Errors hidden, no time limit and no stop on disconnect together: how long-running droppers start (also some legitimate cron scripts)"
    strings:
        $silent = /\berror_reporting\s*\(\s*0\s*\)/ nocase
        $forever = /\bset_time_limit\s*\(\s*0\s*\)/ nocase
        $detached = /\bignore_user_abort\s*\(\s*(1|true)?\s*\)/ nocase
    condition:
        all of them
}
