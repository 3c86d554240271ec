# Sample uninstall script for the intunewin README example.
$target = Join-Path $env:ProgramFiles 'Contoso\SampleApp'
Remove-Item -Path $target -Recurse -Force -ErrorAction SilentlyContinue
exit 0
