from dhakacart_infra.ops.cli import main

main()
